package auth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVerifyAnswers(t *testing.T) {
	f := newFixture(t)
	member := f.sessions.EncodeEndpoint(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), hostA, "team-a")
	forged := Sessions{Secret: []byte("another-secret-of-thirty-two-by!")}.EncodeEndpoint(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), hostA, "team-a")
	expired := f.sessions.EncodeEndpoint(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(-time.Second), hostA, "team-a")
	disabledSession := f.sessions.EncodeEndpoint(DigestOf(disabledToken), uidFor(DigestOf(disabledToken)), testNow.Add(time.Hour), hostA, "team-a")
	tests := []struct {
		name      string
		namespace string
		header    map[string]string
		status    int
		user      string
		email     string
	}{
		{"member bearer", "team-a", bearer(memberToken), 200, "alice@example.com", "alice@example.com"},
		{"bearer scheme in lower case", "team-a", map[string]string{"Authorization": "bearer " + memberToken}, 200, "alice@example.com", "alice@example.com"},
		{"member cookie", "team-a", cookieHeader(member), 200, "alice@example.com", "alice@example.com"},
		{"ServiceAccount token", "team-a", bearer(saToken), 200, "system:serviceaccount:team-a:ci", ""},
		{"no credentials", "team-a", nil, 401, "", ""},
		{"basic auth is no credential", "team-a", map[string]string{"Authorization": "Basic YTpi"}, 401, "", ""},
		{"unknown token", "team-a", bearer(unknownToken), 401, "", ""},
		{"disabled token", "team-a", bearer(disabledToken), 401, "", ""},
		{"expired token", "team-a", bearer(expiredToken), 401, "", ""},
		{"cookie signed by another secret", "team-a", cookieHeader(forged), 401, "", ""},
		{"expired cookie", "team-a", cookieHeader(expired), 401, "", ""},
		{"cookie of a token since disabled", "team-a", cookieHeader(disabledSession), 401, "", ""},
		{"bearer wins over cookie", "team-a", map[string]string{"Authorization": "Bearer " + unknownToken, "Cookie": CookieName + "=" + member}, 401, "", ""},
		{"outsider", "team-a", bearer(outsiderToken), 403, "", ""},
		{"member of another namespace", "team-b", bearer(memberToken), 403, "", ""},
		{"no namespace", "", bearer(memberToken), 400, "", ""},
		{"invalid namespace", "Team_A", bearer(memberToken), 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.limiter.clients = nil // every case from a fresh client
			r := verifyRequest(tt.namespace, tt.header)
			r.Header.Set("X-Original-URL", "https://"+hostA+"/page")
			w := serve(f.verify, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get(HeaderUser); got != tt.user {
				t.Errorf("%s = %q, want %q", HeaderUser, got, tt.user)
			}
			if got, ok := w.Header()[http.CanonicalHeaderKey(HeaderEmail)]; (tt.email == "" && ok) || (tt.email != "" && (len(got) != 1 || got[0] != tt.email)) {
				t.Errorf("%s = %q, want %q", HeaderEmail, got, tt.email)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("answer may be cached")
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestVerifyAccessReviewFailure(t *testing.T) {
	f := newFixture(t)
	f.reviewer.err = errBoom
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != http.StatusInternalServerError || w.Header().Get(HeaderUser) != "" {
		t.Fatalf("status = %d, user = %q; want 500 and no user", w.Code, w.Header().Get(HeaderUser))
	}
}

func TestVerifyStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.store.err = errBoom
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	if f.limiter.Len() != 0 {
		t.Fatal("a failure of the service counted against the client")
	}
}

func TestVerifyRateLimit(t *testing.T) {
	f := newFixture(t) // burst 3, one failure forgiven per minute
	for i := range 3 {
		if w := serve(f.verify, verifyRequest("team-a", bearer(unknownToken))); w.Code != 401 {
			t.Fatalf("failure %d: status %d", i, w.Code)
		}
	}
	w := serve(f.verify, verifyRequest("team-a", bearer(memberToken)))
	if w.Code != 401 || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("a limited client's valid token: status %d, Retry-After %q; want 401 and 60", w.Code, w.Header().Get("Retry-After"))
	}
	other := verifyRequest("team-a", bearer(memberToken))
	other.Header.Set("X-Real-IP", "192.0.2.99")
	if w := serve(f.verify, other); w.Code != 200 {
		t.Fatalf("another client: status %d", w.Code)
	}
	// Valid answers and requests without credentials are no failures.
	f.now = f.now.Add(time.Minute)
	for range 5 {
		serve(f.verify, verifyRequest("team-a", nil))
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
		t.Fatalf("after one failure drained: status %d", w.Code)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(outsiderToken))); w.Code != 403 {
		t.Fatalf("outsider: status %d", w.Code)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
		t.Fatalf("a 403 counted as a failure: status %d", w.Code)
	}
}

func TestVerifyUsesAccessCache(t *testing.T) {
	f := newFixture(t)
	h := f.verify.(*verifyHandler)
	h.access = &CachedReviewer{Next: f.reviewer, TTL: 10 * time.Second, MaxEntries: 10, Now: func() time.Time { return f.now }}
	for range 3 {
		if w := serve(h, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if f.reviewer.calls != 1 {
		t.Fatalf("%d SubjectAccessReviews for three requests within the TTL, want 1", f.reviewer.calls)
	}
}

// endpointRequest is a /verify request as ingress-nginx sends it for a
// request to rawURL on an endpoint of namespace.
func endpointRequest(namespace, rawURL string, header map[string]string) *http.Request {
	r := verifyRequest(namespace, header)
	if rawURL != "" {
		r.Header.Set("X-Original-URL", rawURL)
	}
	return r
}

func codeURL(host, code string) string {
	return "https://" + host + "/app?x=1&" + CodeParam + "=" + code
}

func TestVerifySessions(t *testing.T) {
	f := newFixture(t)
	d := DigestOf(memberToken)
	forA := f.sessions.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a")
	forB := f.sessions.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostB, "team-a")
	signin := f.sessions.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour))
	tests := []struct {
		name, url, cookie string
		status            int
	}{
		{"session of this host", "https://" + hostA + "/", forA, 200},
		{"host as nginx matches it", "https://WEB-team-a.okteto.example.com.:443/", forA, 200},
		{"session of another host", "https://" + hostB + "/", forA, 401},
		{"session of another host, the other way", "https://" + hostA + "/", forB, 401},
		{"session of another namespace", "https://" + hostA + "/", forA, 401}, // namespace team-b below
		{"sign-in session as endpoint session", "https://" + hostA + "/", signin, 401},
		{"no X-Original-URL", "", forA, 401},
		{"unusable X-Original-URL", "https://user@" + hostA + "/", forA, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.limiter.clients = nil
			ns := "team-a"
			if tt.name == "session of another namespace" {
				ns = "team-b"
				f.reviewer.allowed["team-b"] = []string{"alice@example.com"}
				defer delete(f.reviewer.allowed, "team-b")
			}
			w := serve(f.verify, endpointRequest(ns, tt.url, cookieHeader(tt.cookie)))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if w.Header().Get("Set-Cookie") != "" {
				t.Fatal("a session answer set a cookie")
			}
			if tt.status == 401 && f.limiter.Len() == 0 {
				t.Fatal("a refused session was not counted as a failure")
			}
		})
	}
}

func TestVerifyRedeemsCode(t *testing.T) {
	f := newFixture(t)
	d := DigestOf(memberToken)
	c := f.sessions.EncodeCode(d, uidFor(d), testNow.Add(2*time.Hour), hostA, testNow)
	w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil))
	if w.Code != 200 || w.Header().Get(HeaderUser) != "alice@example.com" {
		t.Fatalf("status %d, user %q: %s", w.Code, w.Header().Get(HeaderUser), w.Body)
	}
	raw := w.Header().Get("Set-Cookie")
	for _, attr := range []string{CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=7200"} {
		mustContain(t, raw, attr)
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Fatalf("the endpoint session is not host-only: %s", raw)
	}
	session := sessionCookie(t, w).Value
	if strings.Contains(session, memberToken) {
		t.Fatal("the cookie holds the token")
	}
	// The session opens this host, and nothing else.
	if w := serve(f.verify, endpointRequest("team-a", "https://"+hostA+"/other", cookieHeader(session))); w.Code != 200 {
		t.Fatalf("the endpoint session on its host: %d", w.Code)
	}
	if w := serve(f.verify, endpointRequest("team-a", "https://"+hostB+"/", cookieHeader(session))); w.Code != 401 {
		t.Fatalf("the endpoint session on another host: %d", w.Code)
	}
	// The code is spent: reloading the page it landed on works with the
	// session, and without it the code opens nothing.
	w = serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), cookieHeader(session)))
	if w.Code != 200 || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("reload with the session: %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil)); w.Code != 401 || sessionCookie(t, w) != nil {
		t.Fatalf("a spent code: %d", w.Code)
	}
}

func TestVerifyCodeRefusals(t *testing.T) {
	d := DigestOf(memberToken)
	tests := []struct {
		name      string
		namespace string
		// url builds X-Original-URL from a valid code for hostA (minted at testNow).
		url    func(t *testing.T, f *fixture, c string) string
		header func(c string) map[string]string
		later  time.Duration
	}{
		{name: "code on another host", url: func(_ *testing.T, _ *fixture, c string) string { return codeURL(hostB, c) }},
		{name: "code replayed", url: func(t *testing.T, f *fixture, c string) string {
			if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil)); w.Code != 200 {
				t.Fatal("the first redemption failed")
			}
			return codeURL(hostA, c)
		}},
		{name: "expired code", url: func(_ *testing.T, _ *fixture, c string) string { return codeURL(hostA, c) }, later: CodeTTL},
		{name: "forged code", url: func(_ *testing.T, _ *fixture, _ string) string {
			return codeURL(hostA, Sessions{Secret: []byte(strings.Repeat("y", 32))}.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow))
		}},
		{name: "code altered", url: func(_ *testing.T, _ *fixture, c string) string { return codeURL(hostA, c[:len(c)-2]+"AA") }},
		{name: "session as code", url: func(t *testing.T, f *fixture, _ string) string {
			return codeURL(hostA, f.sessions.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a"))
		}},
		// A Host header naming hostA on a request nginx routed to team-b's
		// endpoint (absolute request line): the host is not team-b's.
		{name: "code for a host outside the namespace", namespace: "team-b", url: func(_ *testing.T, _ *fixture, c string) string { return codeURL(hostA, c) }},
		{name: "code without X-Original-URL", url: func(_ *testing.T, _ *fixture, _ string) string { return "" },
			header: func(c string) map[string]string {
				return map[string]string{"X-Auth-Request-Redirect": "/?" + CodeParam + "=" + c}
			}},
		{name: "too many codes", url: func(_ *testing.T, _ *fixture, c string) string {
			return codeURL(hostA, c) + strings.Repeat("&"+CodeParam+"=x", maxCodes)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.reviewer.allowed["team-b"] = []string{"alice@example.com"}
			c := f.sessions.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow)
			ns := tt.namespace
			if ns == "" {
				ns = "team-a"
			}
			u := tt.url(t, f, c)
			r := endpointRequest(ns, u, nil)
			if tt.header != nil {
				for k, v := range tt.header(c) {
					r.Header.Set(k, v)
				}
			}
			f.limiter.clients = nil
			f.now = f.now.Add(tt.later)
			w := serve(f.verify, r)
			if w.Code != 401 || w.Header().Get(HeaderUser) != "" || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("status %d, user %q, Set-Cookie %q; want 401 and nothing", w.Code, w.Header().Get(HeaderUser), w.Header().Get("Set-Cookie"))
			}
			if u != "" && f.limiter.Len() == 0 {
				t.Fatal("a refused code was not counted as a failure")
			}
		})
	}
}

func TestVerifyCodeThen403(t *testing.T) {
	f := newFixture(t)
	c := f.sessions.EncodeCode(DigestOf(outsiderToken), uidFor(DigestOf(outsiderToken)), testNow.Add(time.Hour), hostA, testNow)
	if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil)); w.Code != 403 || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("status %d, Set-Cookie %q; want 403 without a session", w.Code, w.Header().Get("Set-Cookie"))
	}
}

func TestVerifyCodeOfDisabledToken(t *testing.T) {
	f := newFixture(t)
	c := f.sessions.EncodeCode(DigestOf(disabledToken), uidFor(DigestOf(disabledToken)), testNow.Add(time.Hour), hostA, testNow)
	if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil)); w.Code != 401 || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("status %d; want 401 without a session", w.Code)
	}
}

func TestVerifyEndpointSessionEndsWithToken(t *testing.T) {
	f := newFixture(t)
	// expiredToken's ttl is one minute: make it fresh, with 30 seconds left.
	f.store.secrets[3].CreationTimestamp.Time = testNow.Add(-30 * time.Second)
	f.reviewer.allowed["team-a"] = append(f.reviewer.allowed["team-a"], "alice@example.com")
	c := f.sessions.EncodeCode(DigestOf(expiredToken), uidFor(DigestOf(expiredToken)), testNow.Add(time.Hour), hostA, testNow)
	w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil))
	if got := sessionCookie(t, w); w.Code != 200 || got == nil || got.MaxAge != 30 {
		t.Fatalf("status %d, cookie %+v; want a 30-second session", w.Code, got)
	}
}

func TestVerifyBearerWithCode(t *testing.T) {
	f := newFixture(t)
	c := f.sessions.EncodeCode(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), hostA, testNow)
	// The bearer token decides, and the code is spent all the same.
	w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), bearer(saToken)))
	if w.Code != 200 || w.Header().Get(HeaderUser) != "system:serviceaccount:team-a:ci" || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("status %d, user %q, Set-Cookie %q", w.Code, w.Header().Get(HeaderUser), w.Header().Get("Set-Cookie"))
	}
	if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, c), nil)); w.Code != 401 {
		t.Fatalf("the code after a bearer request: %d, want 401", w.Code)
	}
	if w := serve(f.verify, endpointRequest("team-a", "", bearer(memberToken))); w.Code != 200 {
		t.Fatalf("bearer without X-Original-URL: %d", w.Code)
	}
}
