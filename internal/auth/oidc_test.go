package auth

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const endpointURL = "https://web-team-a.okteto.example.com/app?x=1"

func TestOIDCStartRedirectsToTheProvider(t *testing.T) {
	f := newOIDCFixture(t, nil)
	s := f.start(t, endpointURL)
	if got := s.authURL.Scheme + "://" + s.authURL.Host; got != f.provider.URL {
		t.Fatalf("start sends to %s, want the provider %s", got, f.provider.URL)
	}
	q := s.authURL.Query()
	for k, want := range map[string]string{
		"client_id": testClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": "https://okteto.example.com/auth/callback", "scope": "openid email profile",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("%s = %q: missing or short", k, q.Get(k))
		}
	}
	if !s.state.HttpOnly || !s.state.Secure || s.state.MaxAge <= 0 || s.state.MaxAge > int(StateTTL.Seconds()) || s.state.Domain != "" {
		t.Errorf("state cookie %+v: want host-only, HttpOnly, Secure, short-lived", s.state)
	}
	// The cookie binds the very state, nonce and verifier sent.
	st, err := f.sessions.decodeState(s.state.Value, f.now)
	if err != nil || st.State != q.Get("state") || st.Nonce != q.Get("nonce") || st.Redirect != endpointURL {
		t.Fatalf("state cookie %+v (%v) does not match the authorization request", st, err)
	}
	// The provider gets the S256 challenge of the verifier, never the verifier.
	sum := sha256.Sum256([]byte(st.Verifier))
	if q.Get("code_challenge") != b64.EncodeToString(sum[:]) || strings.Contains(s.authURL.String(), st.Verifier) {
		t.Fatalf("code_challenge %q is not S256 of the cookie's verifier, or the verifier is sent", q.Get("code_challenge"))
	}
}

func TestOIDCSignInOpensTheEndpoint(t *testing.T) {
	f := newOIDCFixture(t, map[string]string{keyGroupsPrefix: "team-a-"})
	w := f.signIn(t, endpointURL)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", w.Code, w.Body.String())
	}
	session := responseCookie(t, w, CookieName)
	if !session.HttpOnly || !session.Secure || session.Domain != "" || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", session)
	}
	if session.MaxAge > int((8 * time.Hour).Seconds()) {
		t.Fatalf("session lasts %ds, more than the session max age", session.MaxAge)
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, endpointURL+"&"+CodeParam+"=") {
		t.Fatalf("Location = %q, want the target with a code", loc)
	}
	// /verify redeems the code as it does a token's.
	v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": loc})
	if v.Code != http.StatusOK || v.Header().Get(HeaderUser) != "alice@example.com" || v.Header().Get(HeaderEmail) != "alice@example.com" {
		t.Fatalf("verify with the code: %d user %q", v.Code, v.Header().Get(HeaderUser))
	}
	asked := f.reviewer.asked[len(f.reviewer.asked)-1]
	if fmt.Sprint(asked.Groups) != "[team-a-devs system:authenticated]" {
		t.Fatalf("reviewed with groups %v, want the prefixed groups claim", asked.Groups)
	}
	endpoint := responseCookie(t, v, CookieName)
	v = f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": "https://web-team-a.okteto.example.com/next"}, endpoint)
	if v.Code != http.StatusOK {
		t.Fatalf("verify with the endpoint session: %d", v.Code)
	}
	// Signed in, the sign-in page hands out a fresh code for another host.
	other := "https://docs-team-a.okteto.example.com/"
	r := f.get("/auth/signin?rd="+url.QueryEscape(other), nil, session)
	if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), other+"?"+CodeParam+"=") {
		t.Fatalf("sign-in page with the session: %d %q", r.Code, r.Header().Get("Location"))
	}
}

// TestOIDCSecurityRules has a case per rule of the callback: each fails
// when its rule is removed, because the flow would then sign the user in.
func TestOIDCSecurityRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   map[string]string
		claims func(map[string]any)
		// tamper changes the callback's query or cookie.
		tamper   func(q url.Values, c *http.Cookie) (url.Values, []*http.Cookie)
		otherKey bool
		status   int
		text     string
	}{
		{name: "state mismatch", status: http.StatusBadRequest, text: "state mismatch",
			tamper: func(q url.Values, c *http.Cookie) (url.Values, []*http.Cookie) {
				q.Set("state", randomValue())
				return q, []*http.Cookie{c}
			}},
		{name: "no state cookie", status: http.StatusBadRequest, text: "not started in this browser",
			tamper: func(q url.Values, _ *http.Cookie) (url.Values, []*http.Cookie) { return q, nil }},
		{name: "forged state cookie", status: http.StatusBadRequest, text: "not started in this browser",
			tamper: func(q url.Values, c *http.Cookie) (url.Values, []*http.Cookie) {
				forged := *c
				forged.Value = Sessions{Secret: []byte("another-secret-another-secret-xx")}.encodeState(oidcState{
					Expires: testNow.Add(time.Minute), Connector: testConnector, State: q.Get("state")})
				return q, []*http.Cookie{&forged}
			}},
		{name: "nonce mismatch", status: http.StatusBadRequest, text: "nonce mismatch",
			claims: func(c map[string]any) { c["nonce"] = "another-sign-in" }},
		{name: "wrong audience", status: http.StatusUnauthorized, text: "audience",
			claims: func(c map[string]any) { c["aud"] = "another-client" }},
		{name: "wrong issuer", status: http.StatusUnauthorized, text: "another issuer",
			claims: func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{name: "expired token", status: http.StatusUnauthorized, text: "expired",
			claims: func(c map[string]any) { c["exp"] = testNow.Add(-time.Minute).Unix() }},
		{name: "signature of another key", status: http.StatusUnauthorized, text: "signature", otherKey: true},
		{name: "email not verified", status: http.StatusForbidden, text: "email_verified",
			claims: func(c map[string]any) { c["email_verified"] = false }},
		{name: "email_verified absent", status: http.StatusForbidden, text: "email_verified",
			claims: func(c map[string]any) { delete(c, "email_verified") }},
		{name: "system: username", status: http.StatusForbidden, text: "system identity",
			data:   map[string]string{keyUsernameClaim: "sub"},
			claims: func(c map[string]any) { c["sub"] = "system:serviceaccount:kube-system:default" }},
		{name: "system: group", status: http.StatusForbidden, text: "system identity",
			claims: func(c map[string]any) { c["groups"] = []any{"devs", "system:masters"} }},
		{name: "no username claim", status: http.StatusForbidden, text: "no",
			claims: func(c map[string]any) { delete(c, "email") }},
		{name: "too many groups", status: http.StatusBadRequest, text: "groups_claim",
			claims: func(c map[string]any) {
				var g []any
				for i := range 300 {
					g = append(g, fmt.Sprintf("group-with-a-long-name-%03d", i))
				}
				c["groups"] = g
			}},
		{name: "provider denied", status: http.StatusForbidden, text: "access_denied",
			tamper: func(q url.Values, c *http.Cookie) (url.Values, []*http.Cookie) {
				return url.Values{"state": {q.Get("state")}, "error": {"access_denied"}}, []*http.Cookie{c}
			}},
		{name: "code without the PKCE verifier's challenge", status: http.StatusBadRequest, text: "refused the authorization code",
			tamper: func(q url.Values, _ *http.Cookie) (url.Values, []*http.Cookie) {
				// Another sign-in's cookie, its state made to match: the
				// verifier is not the one the code was issued for.
				other := Sessions{Secret: testSecret}.encodeState(oidcState{Expires: testNow.Add(time.Minute),
					Connector: testConnector, State: q.Get("state"), Nonce: "n", Verifier: "another-verifier-another-verifier-0123456"})
				return q, []*http.Cookie{{Name: StateCookieName + "_" + q.Get("state"), Value: other}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOIDCFixture(t, tc.data)
			f.provider.claims, f.provider.otherKey = tc.claims, tc.otherKey
			s := f.start(t, endpointURL)
			q := url.Values{"state": {s.authURL.Query().Get("state")}, "code": {f.provider.issue(t, s.authURL.String())}}
			cookies := []*http.Cookie{s.state}
			if tc.tamper != nil {
				q, cookies = tc.tamper(q, s.state)
			}
			w := f.callback(q, cookies...)
			wantPage(t, w, tc.status, tc.text)
			for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
				if c.Name == CookieName && c.Value != "" {
					t.Fatal("a refused sign-in set a session")
				}
			}
		})
	}
}

func TestOIDCIgnoreEmailVerified(t *testing.T) {
	f := newOIDCFixture(t, map[string]string{keyIgnoreEmailVerified: "true"})
	f.provider.claims = func(c map[string]any) { c["email_verified"] = false }
	if w := f.signIn(t, endpointURL); w.Code != http.StatusSeeOther {
		t.Fatalf("ignore_email_verified: %d %s", w.Code, w.Body.String())
	}
	// email_verified is about the email claim only.
	f = newOIDCFixture(t, map[string]string{keyUsernameClaim: "sub", keyUsernamePrefix: "corp:"})
	f.provider.claims = func(c map[string]any) { c["email_verified"] = false }
	w := f.signIn(t, "https://okteto.example.com/")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://okteto.example.com/" {
		t.Fatalf("username_claim sub: %d %q", w.Code, w.Header().Get("Location"))
	}
	sub, _, err := f.sessions.DecodeOIDCSignin(responseCookie(t, w, CookieName).Value, f.now)
	if err != nil || sub.User != "corp:0042" || sub.Connector != testConnector {
		t.Fatalf("session %+v, %v: want user corp:0042", sub, err)
	}
}

func TestOIDCReplayedCode(t *testing.T) {
	f := newOIDCFixture(t, nil)
	s := f.start(t, endpointURL)
	q := url.Values{"state": {s.authURL.Query().Get("state")}, "code": {f.provider.issue(t, s.authURL.String())}}
	if w := f.callback(q, s.state); w.Code != http.StatusSeeOther {
		t.Fatalf("first use: %d", w.Code)
	}
	wantPage(t, f.callback(q, s.state), http.StatusBadRequest, "used already")
}

func TestOIDCStartRefusals(t *testing.T) {
	f := newOIDCFixture(t, nil)
	for _, rd := range []string{"https://evil.example/", "http://web-team-a.okteto.example.com/", "https://okteto.example.com.evil.example/"} {
		wantPage(t, f.get("/auth/oidc/"+testConnector+"/start?rd="+url.QueryEscape(rd), nil), http.StatusBadRequest, "not valid")
	}
	wantPage(t, f.get("/auth/oidc/nosuch/start", nil), http.StatusNotFound, "No such sign-in connector")
	// A provider that cannot be reached: 502, naming the connector.
	f.provider.Close()
	wantPage(t, f.get("/auth/oidc/"+testConnector+"/start", nil), http.StatusBadGateway, "Corp SSO")
}

func TestOIDCProviderGoneAtCallback(t *testing.T) {
	f := newOIDCFixture(t, nil)
	s := f.start(t, endpointURL)
	code := f.provider.issue(t, s.authURL.String())
	f.provider.Close()
	w := f.callback(url.Values{"state": {s.authURL.Query().Get("state")}, "code": {code}}, s.state)
	wantPage(t, w, http.StatusBadGateway, "Corp SSO")
	if strings.Contains(w.Body.String(), code) {
		t.Fatal("the page shows the code")
	}
}

func TestOIDCSessionBoundToItsHost(t *testing.T) {
	f := newOIDCFixture(t, nil)
	w := f.signIn(t, endpointURL)
	loc := w.Header().Get("Location")
	u, _ := url.Parse(loc)
	code := u.Query().Get(CodeParam)
	// The code is for web-team-a: on docs-team-a it opens nothing.
	other := "https://docs-team-a.okteto.example.com/?" + CodeParam + "=" + url.QueryEscape(code)
	if v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": other}); v.Code != http.StatusUnauthorized {
		t.Fatalf("code on another host: %d", v.Code)
	}
	v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": loc})
	if v.Code != http.StatusOK {
		t.Fatalf("code on its host: %d", v.Code)
	}
	endpoint := responseCookie(t, v, CookieName)
	// Spent: the same code again is refused.
	if v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": loc}); v.Code != http.StatusUnauthorized {
		t.Fatalf("code redeemed twice: %d", v.Code)
	}
	for _, target := range []struct{ url, ns string }{
		{"https://docs-team-a.okteto.example.com/", "team-a"},
		{"https://web-team-a.okteto.example.com/", "team-b"},
	} {
		if v := f.get("/auth/verify?namespace="+target.ns, map[string]string{"X-Original-URL": target.url}, endpoint); v.Code != http.StatusUnauthorized {
			t.Fatalf("endpoint session on %s (%s): %d", target.url, target.ns, v.Code)
		}
	}
	// The sign-in session is not an endpoint session anywhere.
	signin := responseCookie(t, w, CookieName)
	if v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": "https://web-team-a.okteto.example.com/"}, signin); v.Code != http.StatusUnauthorized {
		t.Fatalf("sign-in session on an endpoint: %d", v.Code)
	}
	// A connector removed ends its sessions.
	f.connectors.Replace(nil)
	if v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": "https://web-team-a.okteto.example.com/"}, endpoint); v.Code != http.StatusUnauthorized {
		t.Fatalf("session of a removed connector: %d", v.Code)
	}
}

func TestOIDCUserWithoutAccess(t *testing.T) {
	f := newOIDCFixture(t, nil)
	f.provider.claims = func(c map[string]any) { c["email"], c["groups"] = "mallory@example.com", []any{"others"} }
	loc := f.signIn(t, endpointURL).Header().Get("Location")
	if v := f.get("/auth/verify?namespace=team-a", map[string]string{"X-Original-URL": loc}); v.Code != http.StatusForbidden {
		t.Fatalf("user without access: %d", v.Code)
	}
}

func TestSigninPageOffersConnectors(t *testing.T) {
	f := newOIDCFixture(t, nil)
	w := f.get("/auth/signin?rd="+url.QueryEscape(endpointURL), nil)
	want := `href="/auth/oidc/corp/start?rd=` + url.QueryEscape(endpointURL) + `"`
	want = strings.ReplaceAll(want, "&", "&amp;")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Sign in with Corp SSO") ||
		!strings.Contains(w.Body.String(), strings.ReplaceAll(want, "%", "%")) || !strings.Contains(w.Body.String(), `name="token"`) {
		t.Fatalf("sign-in page:\n%s", w.Body.String())
	}
	if strings.Contains(w.Body.String(), "<script") {
		t.Fatal("the sign-in page has a script")
	}
	off := false
	f.cfg.Auth.TokenSignIn = &off
	w = f.get("/auth/signin", nil)
	if !strings.Contains(w.Body.String(), "Sign in with Corp SSO") || strings.Contains(w.Body.String(), `name="token"`) ||
		strings.Contains(w.Body.String(), "disabled here") {
		t.Fatalf("tokenSignIn false: want the connector only:\n%s", w.Body.String())
	}
}

// TestOIDCStartSharesDiscovery: concurrent starts ask the provider once,
// so unauthenticated starts cannot multiply requests to it.
func TestOIDCStartSharesDiscovery(t *testing.T) {
	f := newOIDCFixture(t, nil)
	f.provider.slowDiscovery = 300 * time.Millisecond
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if w := f.get("/auth/oidc/"+testConnector+"/start", nil); w.Code != http.StatusFound {
				t.Errorf("start: %d", w.Code)
			}
		})
	}
	wg.Wait()
	if n := f.provider.discoveries.Load(); n > 2 {
		t.Fatalf("8 concurrent starts made %d discovery requests", n)
	}
}

// TestOIDCTwoSignInsInOneBrowser: each sign-in started in a browser (two
// tabs) keeps its own state, so both complete, in either order; a state
// cookie is spent by its own callback only.
func TestOIDCTwoSignInsInOneBrowser(t *testing.T) {
	f := newOIDCFixture(t, nil)
	first, second := f.start(t, endpointURL), f.start(t, endpointURL)
	if first.state.Name == second.state.Name {
		t.Fatalf("two sign-ins share the state cookie %s", first.state.Name)
	}
	jar := []*http.Cookie{first.state, second.state}
	for _, s := range []started{second, first} {
		q := url.Values{"state": {s.authURL.Query().Get("state")}, "code": {f.provider.issue(t, s.authURL.String())}}
		w := f.callback(q, jar...)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("callback of %s: %d %s", s.state.Name, w.Code, w.Body.String())
		}
		spent := false
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			if c.Name == s.state.Name && c.MaxAge < 0 {
				spent = true
			} else if strings.HasPrefix(c.Name, StateCookieName) {
				t.Errorf("the callback of %s touched %s", s.state.Name, c.Name)
			}
		}
		if !spent {
			t.Errorf("the callback did not spend its own state cookie: %v", w.Header().Values("Set-Cookie"))
		}
	}
}
