package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// gatewayMux serves the gateway form as the auth service does.
func gatewayMux(f *fixture) http.Handler {
	h := &gatewayVerifyHandler{verify: f.verify.(*verifyHandler), signinURL: func() string { return "https://okteto.example.com/auth/signin" }}
	mux := http.NewServeMux()
	mux.Handle("/auth/verify/{namespace}", h)
	mux.Handle("/auth/verify/{namespace}/{rest...}", h)
	return mux
}

// gatewayRequest is the check an ExternalAuth filter with path
// /auth/verify/<namespace> sends for a request of path to host.
func gatewayRequest(namespace, host, path string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/auth/verify/"+namespace+path, nil)
	r.Host = host
	r.Header.Set("X-Real-IP", "192.0.2.10")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

// TestGatewayVerify: SPEC 7.1's /verify/<namespace>/..., the same decision
// as /verify?namespace=, with the namespace from the path, the original URL
// from the forwarded request, and a browser sent to sign in.
func TestGatewayVerify(t *testing.T) {
	f := newFixture(t)
	mux := gatewayMux(f)
	d := DigestOf(memberToken)
	endpointSession := f.sessions.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a")
	html := map[string]string{"Accept": "text/html,application/xhtml+xml"}
	for _, c := range []struct {
		name, namespace, path string
		header                map[string]string
		status                int
		location              string
	}{
		{"member bearer", "team-a", "/app", bearer(memberToken), 200, ""},
		{"the namespace is the path's: another one is refused", "team-b", "/app", bearer(memberToken), 403, ""},
		{"no path after the namespace", "team-a", "", bearer(memberToken), 200, ""},
		{"an API client without credentials", "team-a", "/app", nil, 401, ""},
		{"a browser without credentials signs in, back to the URL it asked for", "team-a", "/app?x=1", html, 302,
			"https://okteto.example.com/auth/signin?rd=" + url.QueryEscape("https://"+hostA+"/app?x=1")},
		{"a browser with a bad token is refused, not redirected", "team-a", "/app", map[string]string{"Accept": "text/html", "Authorization": "Bearer " + unknownToken}, 401, ""},
		{"the endpoint's session on its host", "team-a", "/other", cookieHeader(endpointSession), 200, ""},
		{"an invalid namespace", "Team_A", "/app", bearer(memberToken), 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.limiter.clients = nil
			w := serve(mux, gatewayRequest(c.namespace, hostA, c.path, c.header))
			if w.Code != c.status || w.Header().Get("Location") != c.location {
				t.Fatalf("status %d, Location %q, want %d %q: %s", w.Code, w.Header().Get("Location"), c.status, c.location, w.Body)
			}
		})
	}

	// The endpoint session is bound to the host the gateway forwards: on
	// another host it opens nothing, whatever X-Original-URL the client sends.
	r := gatewayRequest("team-a", hostB, "/", cookieHeader(endpointSession))
	r.Header.Set("X-Original-URL", "https://"+hostA+"/")
	if w := serve(mux, r); w.Code != 401 {
		t.Fatalf("an endpoint session on another host: %d", w.Code)
	}
	// A sign-in code in the forwarded URL is redeemed for the host's session.
	code := f.sessions.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow)
	w := serve(mux, gatewayRequest("team-a", hostA, "/app?"+CodeParam+"="+code, nil))
	if w.Code != 200 || sessionCookie(t, w) == nil {
		t.Fatalf("a sign-in code through the gateway: %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	// X-Forwarded-Host and X-Forwarded-Uri win over Host and path.
	r = gatewayRequest("team-a", "auth.internal", "/ignored", html)
	r.Header.Set("X-Forwarded-Host", hostA)
	r.Header.Set("X-Forwarded-Uri", "/real?y=2")
	if w := serve(mux, r); w.Header().Get("Location") != "https://okteto.example.com/auth/signin?rd="+url.QueryEscape("https://"+hostA+"/real?y=2") {
		t.Fatalf("forwarded headers: Location %q", w.Header().Get("Location"))
	}
}

// TestSigninOrigin: a form post is the page's own from https://<domain> or
// from the public URL's origin, and from nowhere else; "null", which
// browsers send under no-referrer, is no origin.
func TestSigninOrigin(t *testing.T) {
	h := &signinHandler{publicURL: func() string { return "http://127.0.0.1:8082/auth" }}
	for origin, want := range map[string]bool{
		"https://okteto.example.com":           true,
		"https://okteto.example.com:8443":      true,
		"http://127.0.0.1:8082":                true,
		"http://127.0.0.1:8083":                false,
		"http://okteto.example.com":            false,
		"https://web-alice.okteto.example.com": false,
		"null":                                 false,
	} {
		if got := h.sameOrigin(origin, "okteto.example.com"); got != want {
			t.Errorf("sameOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
	if (&signinHandler{}).sameOrigin("http://127.0.0.1:8082", "okteto.example.com") {
		t.Error("without a public URL only https://<domain> is the page's origin")
	}
}

// FuzzGatewayVerify: whatever the path, Host and forwarded headers of a
// gateway's check, the answer is one of the documented ones, a redirect only
// ever goes to the sign-in page, and only a member's credentials open the
// namespace.
func FuzzGatewayVerify(f *testing.F) {
	f.Add("team-a", "/app?x=1", hostA, "", "", "text/html", "")
	f.Add("team-a", "/", hostA, hostB, "/other", "text/html", "Bearer "+memberToken)
	f.Add("Team_A", "/..%2f..", "evil.example.com:443", "", "//evil.example.com", "*/*", "Bearer "+outsiderToken)
	f.Add("team-a", "/%00", "", "a b", "\r\nLocation: x", "text/html", "Basic YTpi")
	f.Fuzz(func(t *testing.T, namespace, path, host, fwdHost, fwdURI, accept, authorization string) {
		fx := newFixture(t)
		mux := gatewayMux(fx)
		target := "/auth/verify/" + url.PathEscape(namespace) + path
		if _, err := url.ParseRequestURI(target); err != nil {
			t.Skip()
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL, _ = url.ParseRequestURI(target)
		r.RequestURI = target
		r.Host = host
		r.Header.Set("X-Real-IP", "192.0.2.10")
		for k, v := range map[string]string{"X-Forwarded-Host": fwdHost, "X-Forwarded-Uri": fwdURI, "Accept": accept, "Authorization": authorization} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		w := serve(mux, r)
		switch w.Code {
		case http.StatusOK:
			if authorization != "Bearer "+memberToken && !strings.EqualFold(authorization, "bearer "+memberToken) {
				t.Fatalf("200 without the member's token: %q", authorization)
			}
		case http.StatusFound:
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "https://okteto.example.com/auth/signin?rd=") {
				t.Fatalf("a redirect elsewhere than the sign-in page: %q", loc)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
			if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/auth/verify/") {
				// The mux cleans paths with a redirect to the clean one on
				// this service, never elsewhere.
				t.Fatalf("%d to %q", w.Code, loc)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
