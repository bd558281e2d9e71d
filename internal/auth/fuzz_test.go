package auth

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSessionDecode: no value decodes as a session unless this service
// signed it for that kind, host and namespace, and none panics.
func FuzzSessionDecode(f *testing.F) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	f.Add(s.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour)), hostA, "team-a")
	f.Add(s.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a"), hostA, "team-a")
	f.Add(s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow), hostA, "team-a")
	f.Fuzz(func(t *testing.T, value, host, namespace string) {
		signed := map[string]bool{}
		if got, uid, exp, err := s.DecodeSignin(value, testNow); err == nil {
			if s.EncodeSignin(got, uid, exp) != value {
				t.Fatalf("DecodeSignin accepted %q, not what EncodeSignin gives", value)
			}
			signed["signin"] = true
		}
		if got, uid, err := s.DecodeEndpoint(value, host, namespace, testNow); err == nil {
			parts := strings.Split(value, ".")
			if len(parts) != 7 || s.EncodeEndpoint(got, uid, time.Unix(mustInt(t, parts[1]), 0), host, namespace) != value {
				t.Fatalf("DecodeEndpoint accepted %q for %q/%q, not what EncodeEndpoint gives", value, host, namespace)
			}
			signed["endpoint"] = true
		}
		if c, err := s.DecodeCode(value, testNow); err == nil {
			if c.Host == "" && value == "" {
				t.Fatal("empty code accepted")
			}
			signed["code"] = true
		}
		if len(signed) > 1 {
			t.Fatalf("%q decodes as several kinds: %v", value, signed)
		}
	})
}

// FuzzCodeDecode: a decoded code is exactly what EncodeCode signed, and a
// code only redeems once.
func FuzzCodeDecode(f *testing.F) {
	s := Sessions{Secret: testSecret}
	f.Add(s.EncodeCode(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), hostA, testNow))
	f.Add("c3.1.2.3.4.5.6.7")
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		c, err := s.DecodeCode(value, testNow)
		if err != nil {
			if _, ok := err.(refusal); !ok {
				t.Fatalf("a code's error is not a refusal: %v", err)
			}
			return
		}
		again := s.sign(kindCode, unix(c.Expires), unix(c.SessionExpires), b64.EncodeToString(c.Digest[:]),
			b64.EncodeToString([]byte(c.UID)), b64.EncodeToString([]byte(c.Host)), b64.EncodeToString(c.Nonce[:]))
		if again != value {
			t.Fatalf("DecodeCode accepted %q, which re-encodes as %q", value, again)
		}
		l := &CodeLedger{MaxEntries: 4}
		if !l.Redeem(c, testNow) || l.Redeem(c, testNow) {
			t.Fatal("a code did not redeem exactly once")
		}
	})
}

// FuzzOriginalURL: X-Original-URL parsing never panics, yields a lower-case
// DNS host, and sees every code a query carries the way Go reads queries.
func FuzzOriginalURL(f *testing.F) {
	f.Add("https://" + hostA + "/app?x=1&" + CodeParam + "=abc")
	f.Add("https://WEB-team-a.okteto.example.com.:443/?" + CodeParam + "=a&" + CodeParam + "=b")
	f.Add("https://user@evil.com/")
	f.Add("http://[::1]:80/")
	f.Fuzz(func(t *testing.T, raw string) {
		host, codes, ok := originalURL(raw)
		if !ok {
			if host != "" || codes != nil {
				t.Fatalf("refused %q but returned %q, %q", raw, host, codes)
			}
			return
		}
		if host == "" || host != strings.ToLower(host) || strings.HasSuffix(host, ".") || strings.ContainsAny(host, ":/@[]") {
			t.Fatalf("originalURL(%q) host = %q", raw, host)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", raw, err)
		}
		q, _ := url.ParseQuery(u.RawQuery)
		if strings.Join(q[CodeParam], "\x00") != strings.Join(codes, "\x00") {
			t.Fatalf("originalURL(%q) codes = %q, want %q", raw, codes, q[CodeParam])
		}
	})
}

// FuzzWithCode: the redirect keeps its scheme, host, path and fragment and
// carries exactly the one code.
func FuzzWithCode(f *testing.F) {
	f.Add("https://"+hostA+"/a?x=1&y=a%20b#frag", "c2.x")
	f.Add("https://"+hostA+"/?"+CodeParam+"=old&"+CodeParam+"%3d", "c")
	f.Fuzz(func(t *testing.T, rawRD, value string) {
		rd, err := safeRedirect(rawRD, "okteto.example.com")
		if err != nil {
			return
		}
		got, err := withCode(rd, value)
		if err != nil {
			t.Fatalf("withCode(%q): %v", rd, err)
		}
		before, _ := url.Parse(rd)
		after, err := url.Parse(got)
		if err != nil {
			t.Fatalf("withCode(%q) = %q, which does not parse: %v", rd, got, err)
		}
		if after.Scheme != before.Scheme || after.Host != before.Host || after.EscapedPath() != before.EscapedPath() || after.Fragment != before.Fragment {
			t.Fatalf("withCode(%q) = %q changed more than the query", rd, got)
		}
		if codes := after.Query()[CodeParam]; len(codes) != 1 || codes[0] != value {
			t.Fatalf("withCode(%q) = %q carries codes %q, want [%q]", rd, got, codes, value)
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
