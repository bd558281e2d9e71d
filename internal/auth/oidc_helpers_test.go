package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
)

const (
	testClientID     = "devgate"
	testClientSecret = "client-secret-Qw8rTy2uIo"
	testConnector    = "corp"
)

// fakeProvider is an OpenID provider: discovery and keys from oidctest, and
// a token endpoint that redeems the codes the test issues, each once, with
// PKCE S256 checked as a provider does.
type fakeProvider struct {
	*httptest.Server
	key   *rsa.PrivateKey
	other *rsa.PrivateKey // signs tokens the JWKS does not hold

	mu    sync.Mutex
	codes map[string]issued
	// claims edits the ID token's claims before signing (nil: none).
	claims func(map[string]any)
	// otherKey signs the ID token with a key the JWKS does not hold.
	otherKey bool
	now      time.Time
	// discoveries counts the discovery requests; slowDiscovery delays them.
	discoveries   atomic.Int64
	slowDiscovery time.Duration
}

type issued struct {
	challenge, nonce string
}

func newFakeProvider(t testing.TB, now time.Time) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{key: key, other: other, codes: map[string]issued{}, now: now}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoveries.Add(1)
		time.Sleep(p.slowDiscovery)
		keys.ServeHTTP(w, r)
	})
	mux.Handle("/", keys)
	p.Server = httptest.NewServer(mux)
	keys.SetIssuer(p.URL)
	t.Cleanup(p.Close)
	return p
}

// issue is what the provider does when the user signs in at its
// authorization endpoint: a code for the challenge and nonce of authURL.
func (p *fakeProvider) issue(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization request without PKCE S256: %s", authURL)
	}
	code := randomValue()
	p.mu.Lock()
	p.codes[code] = issued{challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	p.mu.Unlock()
	return code
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, _ := r.BasicAuth()
	if id == "" {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	p.mu.Lock()
	iss, ok := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case id != testClientID || secret != testClientSecret:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	case !ok || b64.EncodeToString(sum[:]) != iss.challenge:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	claims := map[string]any{
		"iss": p.URL, "aud": testClientID, "sub": "0042", "nonce": iss.nonce,
		"iat": p.now.Unix(), "exp": p.now.Add(time.Hour).Unix(),
		"email": "alice@example.com", "email_verified": true, "groups": []any{"devs"},
	}
	p.mu.Lock()
	edit, otherKey := p.claims, p.otherKey
	p.mu.Unlock()
	if edit != nil {
		edit(claims)
	}
	raw, _ := json.Marshal(claims)
	key := p.key
	if otherKey {
		key = p.other
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
		"id_token": oidctest.SignIDToken(key, "k1", oidc.RS256, string(raw)),
	})
}

// connectorSecret is a valid connector Secret for issuer, with data edits.
func connectorSecret(name, issuer string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: name, ResourceVersion: "1"},
		Type:       tokens.TypeOIDCConnector,
		Data: map[string][]byte{
			tokens.KeyIssuer: []byte(issuer), tokens.KeyClientID: []byte(testClientID),
			tokens.KeyClientSecret: []byte(testClientSecret),
			tokens.KeyRedirectURI:  []byte("https://okteto.example.com/auth/callback"),
			keyConnectorName:       []byte("Corp SSO"),
		},
	}
	for k, v := range data {
		if v == "" {
			delete(s.Data, k)
			continue
		}
		s.Data[k] = []byte(v)
	}
	return s
}

// groupReviewer allows a user by name or by one of its groups, and keeps the
// identities it was asked about.
type groupReviewer struct {
	mu      sync.Mutex
	allowed map[string][]string // namespace -> users and groups
	asked   []Identity
}

func (g *groupReviewer) CanAccess(_ context.Context, id Identity, ns string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, id)
	for _, a := range g.allowed[ns] {
		if a == id.User || slices.Contains(id.Groups, a) {
			return true, nil
		}
	}
	return false, nil
}

// oidcFixture is the sign-in page, the connector flow and /verify over one
// fake provider and connector.
type oidcFixture struct {
	provider   *fakeProvider
	connectors *Connectors
	reviewer   *groupReviewer
	sessions   Sessions
	now        time.Time
	handler    http.Handler
	cfg        *config.Config
}

func newOIDCFixture(t testing.TB, data map[string]string) *oidcFixture {
	t.Helper()
	f := &oidcFixture{now: testNow, sessions: Sessions{Secret: testSecret},
		reviewer: &groupReviewer{allowed: map[string][]string{"team-a": {"alice@example.com", "team-a-devs"}}}}
	f.provider = newFakeProvider(t, f.now)
	f.connectors = NewConnectors(logr.Discard())
	f.connectors.Replace([]corev1.Secret{*connectorSecret(testConnector, f.provider.URL, data)})
	if !f.connectors.Has(testConnector) {
		t.Fatalf("the fixture's connector is invalid: %v", data)
	}
	clock := func() time.Time { return f.now }
	f.cfg = testConfig()
	cfg := configsource.Static(f.cfg)
	resolver := &Resolver{Store: standardStore(), Config: cfg, Now: clock}
	limiter := &FailureLimiter{Burst: 100, Refill: time.Minute, MaxClients: 100, Now: clock}
	verify := &verifyHandler{
		auth:   &Authenticator{Resolver: resolver, Sessions: f.sessions, Codes: &CodeLedger{MaxEntries: 100}, Connectors: f.connectors},
		access: f.reviewer, limiter: limiter, now: clock, log: logr.Discard(),
	}
	signin := &signinHandler{resolver: resolver, sessions: f.sessions, config: cfg, limiter: limiter,
		connectors: f.connectors, maxAge: 8 * time.Hour, now: clock, log: logr.Discard()}
	flow := &oidcHandler{signin: signin, connectors: f.connectors, client: &http.Client{Timeout: 5 * time.Second}, log: logr.Discard()}
	mux := http.NewServeMux()
	mux.Handle("/auth/verify", verify)
	mux.Handle("/auth/signin", signin)
	mux.HandleFunc("/auth/oidc/{connector}/start", flow.start)
	mux.HandleFunc("/auth/callback", flow.callback)
	pages := &sessionHandler{signin: signin}
	mux.HandleFunc("/auth/whoami", pages.whoami)
	mux.HandleFunc("/auth/signout", pages.signout)
	f.handler = mux
	return f
}

// get serves a GET of path with the cookies given (name=value pairs).
func (f *oidcFixture) get(path string, header map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("X-Real-IP", "192.0.2.10")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return serve(f.handler, r)
}

// started is a sign-in begun at the start route.
type started struct {
	authURL *url.URL
	state   *http.Cookie
}

func (f *oidcFixture) start(t *testing.T, rd string) started {
	t.Helper()
	path := "/auth/oidc/" + testConnector + "/start"
	if rd != "" {
		path += "?rd=" + url.QueryEscape(rd)
	}
	w := f.get(path, nil)
	if w.Code != http.StatusFound {
		t.Fatalf("start: %d %s", w.Code, w.Body.String())
	}
	u, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	name, ok := stateCookieName(u.Query().Get("state"))
	if !ok {
		t.Fatalf("the provider is sent the state %q", u.Query().Get("state"))
	}
	st := responseCookie(t, w, name)
	return started{authURL: u, state: st}
}

// callback sends the provider's redirect back, with the state cookie.
func (f *oidcFixture) callback(query url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return f.get("/auth/callback?"+query.Encode(), nil, cookies...)
}

// signIn runs the whole flow to the callback's answer.
func (f *oidcFixture) signIn(t *testing.T, rd string) *httptest.ResponseRecorder {
	t.Helper()
	s := f.start(t, rd)
	code := f.provider.issue(t, s.authURL.String())
	return f.callback(url.Values{"state": {s.authURL.Query().Get("state")}, "code": {code}}, s.state)
}

func responseCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c
		}
	}
	t.Fatalf("no %s cookie set: %v", name, w.Header().Values("Set-Cookie"))
	return nil
}

func wantPage(t *testing.T, w *httptest.ResponseRecorder, status int, text string) {
	t.Helper()
	if w.Code != status || !strings.Contains(w.Body.String(), text) {
		t.Fatalf("answer %d, want %d with %q:\n%s", w.Code, status, text, w.Body.String())
	}
}
