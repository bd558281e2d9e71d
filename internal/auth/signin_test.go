package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const target = "https://web-team-a.okteto.example.com/app?x=1"

func signinGet(rd string) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/auth/signin?rd="+url.QueryEscape(rd), nil)
}

func signinPost(token, rd string, header map[string]string) *http.Request {
	form := url.Values{"token": {token}, "rd": {rd}}
	r := httptest.NewRequest(http.MethodPost, "/auth/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Real-IP", "192.0.2.20")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func TestSigninPage(t *testing.T) {
	f := newFixture(t)
	w := serve(f.signin, signinGet(target))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, `name="token" type="password"`)
	mustContain(t, body, `value="https://web-team-a.okteto.example.com/app?x=1"`)
	mustContain(t, w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("sign-in page may be cached")
	}
	// The target is escaped in the page.
	w = serve(f.signin, signinGet(`https://web-team-a.okteto.example.com/"><script>alert(1)</script>`))
	if strings.Contains(w.Body.String(), "<script>alert") {
		t.Fatal("rd reflected unescaped")
	}
}

func TestSigninRefusesOpenRedirects(t *testing.T) {
	for _, rd := range []string{"https://evil.com", "//evil.com", "https://okteto.example.com.evil.com",
		"http://x.okteto.example.com", "javascript:alert(1)", "https://okteto.example.com@evil.com/"} {
		f := newFixture(t)
		if w := serve(f.signin, signinGet(rd)); w.Code != http.StatusBadRequest {
			t.Errorf("GET rd=%q: status %d, want 400", rd, w.Code)
		}
		w := serve(f.signin, signinPost(memberToken, rd, nil))
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || sessionCookie(t, w) != nil {
			t.Errorf("POST rd=%q: status %d, Location %q; want 400, no redirect, no cookie", rd, w.Code, w.Header().Get("Location"))
		}
	}
}

// codeOf returns the code in a sign-in redirect to target, and fails unless
// the rest of the Location is target itself.
func codeOf(t *testing.T, w *httptest.ResponseRecorder, target string) string {
	t.Helper()
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, target+"&"+CodeParam+"=") {
		t.Fatalf("status %d, Location %q; want 303 to %s with a code", w.Code, loc, target)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(CodeParam)
}

func TestSigninSetsCookie(t *testing.T) {
	f := newFixture(t)
	w := serve(f.signin, signinPost(memberToken, target, map[string]string{"Origin": "https://okteto.example.com"}))
	code := codeOf(t, w, target)
	raw := w.Header().Get("Set-Cookie")
	for _, attr := range []string{"Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=28800"} {
		mustContain(t, raw, attr)
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Fatalf("the sign-in session is not host-only: %s", raw)
	}
	if strings.Contains(raw, memberToken) || strings.Contains(code, memberToken) {
		t.Fatal("the cookie or the code holds the token")
	}
	// The sign-in session opens no endpoint; the code opens its host.
	c := sessionCookie(t, w)
	if w := serve(f.verify, endpointRequest("team-a", target, cookieHeader(c.Value))); w.Code != 401 {
		t.Fatalf("verify with the sign-in session: %d, want 401", w.Code)
	}
	w = serve(f.verify, endpointRequest("team-a", w.Header().Get("Location"), nil))
	if w.Code != 200 || w.Header().Get(HeaderUser) != "alice@example.com" || sessionCookie(t, w) == nil {
		t.Fatalf("verify with the code: %d %q", w.Code, w.Header().Get(HeaderUser))
	}
	endpoint := sessionCookie(t, w)
	if endpoint.MaxAge != 28800 {
		t.Fatalf("endpoint session Max-Age %d, want the sign-in session's 28800", endpoint.MaxAge)
	}
	// A session ends after its maximum age.
	f.now = f.now.Add(8 * time.Hour)
	if w := serve(f.verify, endpointRequest("team-a", target, cookieHeader(endpoint.Value))); w.Code != 401 {
		t.Fatalf("verify with a session past its age: %d", w.Code)
	}
}

func TestSigninResumesSession(t *testing.T) {
	f := newFixture(t)
	w := serve(f.signin, signinPost(memberToken, "", nil))
	signin := sessionCookie(t, w).Value
	const other = "https://api-team-a.okteto.example.com/v1?a=b"
	get := func(rd, cookie string) *httptest.ResponseRecorder {
		r := signinGet(rd)
		r.Header.Set("Cookie", CookieName+"="+cookie)
		return serve(f.signin, r)
	}
	// Signed in: no form, a fresh code for each target.
	w = get(other, signin)
	code := codeOf(t, w, other)
	if sessionCookie(t, w) != nil {
		t.Fatal("resuming set another sign-in session")
	}
	if w := serve(f.verify, endpointRequest("team-a", w.Header().Get("Location"), nil)); w.Code != 200 {
		t.Fatalf("the resumed code: %d", w.Code)
	}
	if code2 := codeOf(t, get(other, signin), other); code2 == code {
		t.Fatal("the same code twice")
	}
	// The auth service's own host needs no code.
	if w := get("https://okteto.example.com/dashboard", signin); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://okteto.example.com/dashboard" {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	// Not signed in: the form.
	for name, cookie := range map[string]string{
		"endpoint session":       f.sessions.EncodeEndpoint(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour), "api-team-a.okteto.example.com", "team-a"),
		"forged session":         Sessions{Secret: []byte(strings.Repeat("z", 32))}.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(time.Hour)),
		"session of a disabled":  f.sessions.EncodeSignin(DigestOf(disabledToken), uidFor(DigestOf(disabledToken)), testNow.Add(time.Hour)),
		"expired sign-in":        f.sessions.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), testNow.Add(-time.Second)),
		"no session (empty one)": "",
	} {
		if w := get(other, cookie); w.Code != 200 || w.Header().Get("Location") != "" {
			t.Errorf("%s: status %d, Location %q; want the form", name, w.Code, w.Header().Get("Location"))
		}
	}
}

func TestSigninCookieEndsWithToken(t *testing.T) {
	f := newFixture(t)
	// expiredToken's ttl is one minute: make it fresh, with 30 seconds left.
	f.store.secrets[3].CreationTimestamp.Time = testNow.Add(-30 * time.Second)
	w := serve(f.signin, signinPost(expiredToken, target, nil))
	c := sessionCookie(t, w)
	if w.Code != http.StatusSeeOther || c == nil || c.MaxAge != 30 {
		t.Fatalf("status %d, cookie %+v; want a 30-second session", w.Code, c)
	}
}

func TestSigninWithoutRedirect(t *testing.T) {
	f := newFixture(t)
	w := serve(f.signin, signinPost(saToken, "", nil))
	if w.Code != 200 || sessionCookie(t, w) == nil {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Signed in")
}

func TestSigninRefusals(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		header map[string]string
		status int
	}{
		{"unknown token", unknownToken, nil, 401},
		{"disabled token", disabledToken, nil, 401},
		{"expired token", expiredToken, nil, 401},
		{"empty token", "", nil, 400},
		{"cross-site post", memberToken, map[string]string{"Origin": "https://evil.com"}, 403},
		{"post from a tenant endpoint", memberToken, map[string]string{"Origin": "https://web-bob.okteto.example.com"}, 403},
		{"post from http", memberToken, map[string]string{"Origin": "http://okteto.example.com"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := serve(f.signin, signinPost(tt.token, target, tt.header))
			if w.Code != tt.status || sessionCookie(t, w) != nil || w.Header().Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want %d, no cookie", w.Code, w.Header().Get("Location"), tt.status)
			}
		})
	}
}

func TestSigninRateLimit(t *testing.T) {
	f := newFixture(t) // burst 3
	for range 3 {
		serve(f.signin, signinPost(unknownToken, target, nil))
	}
	w := serve(f.signin, signinPost(memberToken, target, nil))
	if w.Code != http.StatusTooManyRequests || sessionCookie(t, w) != nil || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d; want 429 with Retry-After and no cookie", w.Code)
	}
	// The limit is shared with /verify: same client, same failures.
	r := verifyRequest("team-a", bearer(memberToken))
	r.Header.Set("X-Real-IP", "192.0.2.20")
	if w := serve(f.verify, r); w.Code != 401 {
		t.Fatalf("verify from the limited client: %d", w.Code)
	}
}

func TestSigninMethods(t *testing.T) {
	f := newFixture(t)
	if w := serve(f.signin, httptest.NewRequest(http.MethodDelete, "/auth/signin", nil)); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", w.Code)
	}
}
