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

func TestSigninSetsCookie(t *testing.T) {
	f := newFixture(t)
	w := serve(f.signin, signinPost(memberToken, target, map[string]string{"Origin": "https://okteto.example.com"}))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != target {
		t.Fatalf("status %d, Location %q; want 303 to %s", w.Code, w.Header().Get("Location"), target)
	}
	raw := w.Header().Get("Set-Cookie")
	for _, attr := range []string{"Domain=okteto.example.com", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=28800"} {
		mustContain(t, raw, attr)
	}
	if strings.Contains(raw, memberToken) {
		t.Fatal("the cookie holds the token")
	}
	c := sessionCookie(t, w)
	if w := serve(f.verify, verifyRequest("team-a", cookieHeader(c.Value))); w.Code != 200 || w.Header().Get(HeaderUser) != "alice@example.com" {
		t.Fatalf("verify with the new cookie: %d %q", w.Code, w.Header().Get(HeaderUser))
	}
	// A session ends after its maximum age.
	f.now = f.now.Add(8 * time.Hour)
	if w := serve(f.verify, verifyRequest("team-a", cookieHeader(c.Value))); w.Code != 401 {
		t.Fatalf("verify with a session past its age: %d", w.Code)
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
