package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCodeRoundTrip(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	v := s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow)
	if strings.Contains(v, memberToken) {
		t.Fatal("the code holds the token")
	}
	c, err := s.DecodeCode(v, testNow.Add(CodeTTL-time.Second))
	if err != nil || c.Digest != d || c.UID != "uid-member" || c.Host != hostA || !c.SessionExpires.Equal(testNow.Add(time.Hour)) ||
		!c.Expires.Equal(testNow.Add(CodeTTL)) {
		t.Fatalf("DecodeCode = %+v, %v", c, err)
	}
	if w := s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow); w == v {
		t.Fatal("two codes are equal: no nonce")
	}
}

func TestCodeRefusals(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	valid := s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow)
	parts := strings.Split(valid, ".")
	tests := map[string]struct {
		value string
		now   time.Time
		want  error
	}{
		"forged":               {Sessions{Secret: []byte(strings.Repeat("x", 32))}.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow), testNow, errBadCode},
		"uid rewritten":        {reseal(valid, 4, b64.EncodeToString([]byte("uid-other"))), testNow, errBadCode},
		"host rewritten":       {reseal(valid, 5, b64.EncodeToString([]byte(hostB))), testNow, errBadCode},
		"code expiry extended": {reseal(valid, 1, "99999999999"), testNow, errBadCode},
		"signature altered":    {reseal(valid, 7, flip(parts[7])), testNow, errBadCode},
		"unbound (c2) code":    {s.sign("c2", parts[1], parts[2], parts[3], parts[5], parts[6]), testNow, errBadCode},
		"expired":              {valid, testNow.Add(CodeTTL), errCodeExpired},
		"session ended":        {s.EncodeCode(d, uidFor(d), testNow.Add(time.Second), hostA, testNow), testNow.Add(2 * time.Second), errCodeExpired},
		"sign-in session":      {s.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour)), testNow, errBadCode},
		"endpoint session":     {s.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a"), testNow, errBadCode},
		"garbage":              {"%%%", testNow, errBadCode},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.DecodeCode(tt.value, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCodeLedger(t *testing.T) {
	s := Sessions{Secret: testSecret}
	mint := func(now time.Time) code {
		c, err := s.DecodeCode(s.EncodeCode(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), hostA, now), now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	l := &CodeLedger{MaxEntries: 3}
	a := mint(testNow)
	if !l.Redeem(a, testNow) {
		t.Fatal("a fresh code was refused")
	}
	if l.Redeem(a, testNow.Add(time.Second)) {
		t.Fatal("a code was redeemed twice")
	}
	// Full: the first to expire is forgotten, and every code expiring no
	// later than it is refused from then on.
	b, c := mint(testNow.Add(time.Second)), mint(testNow.Add(2*time.Second))
	if !l.Redeem(b, testNow.Add(2*time.Second)) || !l.Redeem(c, testNow.Add(2*time.Second)) {
		t.Fatal("fresh codes refused")
	}
	d := mint(testNow.Add(3 * time.Second))
	if !l.Redeem(d, testNow.Add(3*time.Second)) {
		t.Fatal("a fresh code refused when the ledger is full")
	}
	if l.Redeem(a, testNow.Add(3*time.Second)) {
		t.Fatal("a forgotten code was redeemed again")
	}
	if l.Redeem(mint(testNow), testNow.Add(3*time.Second)) {
		t.Fatal("a code older than the forgotten one was redeemed")
	}
	for _, x := range []code{b, c, d} {
		if l.Redeem(x, testNow.Add(4*time.Second)) {
			t.Fatal("a code was redeemed twice")
		}
	}
	// Expired nonces are dropped: the ledger does not stay full.
	later := testNow.Add(CodeTTL + 10*time.Second)
	if !l.Redeem(mint(later), later) || len(l.spent) != 1 {
		t.Fatalf("after expiry: %d nonces kept, want 1", len(l.spent))
	}
}

func TestWithCode(t *testing.T) {
	for rd, want := range map[string]string{
		"https://" + hostA:                                   "https://" + hostA + "?devgate_code=C",
		"https://" + hostA + "/":                             "https://" + hostA + "/?devgate_code=C",
		"https://" + hostA + "/a?x=1&y=a%20b":                "https://" + hostA + "/a?x=1&y=a%20b&devgate_code=C",
		"https://" + hostA + "/a?devgate_code=old&x=1":       "https://" + hostA + "/a?x=1&devgate_code=C",
		"https://" + hostA + "/a?devgate%5Fcode=old":         "https://" + hostA + "/a?devgate_code=C",
		"https://" + hostA + "/a?x=1&devgate_code=o#frag":    "https://" + hostA + "/a?x=1&devgate_code=C#frag",
		"https://" + hostA + "/a?devgate_code&devgate_code=": "https://" + hostA + "/a?devgate_code=C",
	} {
		if got, err := withCode(rd, "C"); err != nil || got != want {
			t.Errorf("withCode(%q) = %q, %v; want %q", rd, got, err, want)
		}
	}
}

func TestOriginalURL(t *testing.T) {
	tests := []struct {
		raw   string
		host  string
		codes []string
		ok    bool
	}{
		{"https://" + hostA + "/x?y=1", hostA, nil, true},
		{"https://" + hostA + "/x?devgate_code=abc&y=1", hostA, []string{"abc"}, true},
		{"https://" + hostA + "/x?devgate_code=a&devgate_code=b", hostA, []string{"a", "b"}, true},
		{"https://WEB-team-a.okteto.example.com./", hostA, nil, true},
		{"https://" + hostA + ":8443/", hostA, nil, true},
		{"http://" + hostA + "/", hostA, nil, true},
		{"https://" + hostA + "/?devgate_code=c;bad&x=%zz", hostA, nil, true},
		{"https://" + hostA + "/?x=%zz&devgate_code=c", hostA, []string{"c"}, true},
		{"", "", nil, false},
		{"/relative", "", nil, false},
		{"ftp://" + hostA + "/", "", nil, false},
		{"https://user@" + hostA + "/", "", nil, false},
		{"https://exa_mple.com/", "", nil, false},
		{"https:///path", "", nil, false},
		{"https://" + hostA + "/\x00", "", nil, false},
	}
	for _, tt := range tests {
		host, codes, ok := originalURL(tt.raw)
		if host != tt.host || ok != tt.ok || strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
			t.Errorf("originalURL(%q) = %q, %q, %v; want %q, %q, %v", tt.raw, host, codes, ok, tt.host, tt.codes, tt.ok)
		}
	}
}
