package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
)

// Tokens of the fixtures: strong, distinct, label-safe.
const (
	memberToken   = "mbr-Tk9qXw2LpZ7vR4sY"
	outsiderToken = "out-Hb3mNc8QdJ5fG1kE"
	disabledToken = "dis-Wq6rTy1UiO9pAs4D"
	expiredToken  = "exp-Zx2cVb7NmL5kJh3G"
	saToken       = "sa-Pl0oKi9JuH8yGt7Fr"
	unknownToken  = "unk-Ed6cRf5TgB4yHn3M"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testConfig() *config.Config { return config.Default() }

// tokenSecret is a token Secret created an hour before testNow.
func tokenSecret(name, token, user string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tokens", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(testNow.Add(-time.Hour))},
		Type: tokens.TypeToken,
		Data: map[string][]byte{tokens.KeyToken: []byte(token), tokens.KeyUserID: []byte(user)},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func serviceAccount(ns, name, token string) *metav1.PartialObjectMetadata {
	sa := &metav1.PartialObjectMetadata{}
	sa.Namespace, sa.Name, sa.UID = ns, name, types.UID("uid-sa-"+ns+"-"+name)
	sa.Labels = map[string]string{tokens.LabelToken: token, tokens.LabelExternalID: "4242"}
	return sa
}

// fakeStore indexes its objects the way the informer cache does: through
// trimSecret and the same index functions.
type fakeStore struct {
	secrets  []*corev1.Secret
	accounts []*metav1.PartialObjectMetadata
	err      error
}

func (f *fakeStore) TokenSecrets(_ context.Context, digest string) ([]*corev1.Secret, error) {
	var out []*corev1.Secret
	for _, s := range f.secrets {
		// Transformed twice, as client-go may do.
		once, _ := trimSecret(s.DeepCopy())
		twice, _ := trimSecret(once)
		trimmed := twice.(*corev1.Secret)
		for _, k := range secretIndex(trimmed) {
			if k == digest {
				out = append(out, trimmed)
			}
		}
	}
	return out, f.err
}

func (f *fakeStore) ServiceAccounts(_ context.Context, digest string) ([]*metav1.PartialObjectMetadata, error) {
	var out []*metav1.PartialObjectMetadata
	for _, sa := range f.accounts {
		for _, k := range serviceAccountIndex(sa) {
			if k == digest {
				out = append(out, sa.DeepCopy())
			}
		}
	}
	return out, f.err
}

// standardStore holds one token of each kind the tests use.
func standardStore() *fakeStore {
	return &fakeStore{
		secrets: []*corev1.Secret{
			tokenSecret("member", memberToken, "alice@example.com", nil),
			tokenSecret("outsider", outsiderToken, "mallory", map[string]string{tokens.KeyEnabled: "true"}),
			tokenSecret("disabled", disabledToken, "alice@example.com", map[string]string{tokens.KeyEnabled: "false"}),
			tokenSecret("expired", expiredToken, "alice@example.com", map[string]string{tokens.KeyTTL: "60000"}),
		},
		accounts: []*metav1.PartialObjectMetadata{serviceAccount("team-a", "ci", saToken)},
	}
}

// fakeReviewer allows the users listed per namespace and counts its calls.
type fakeReviewer struct {
	mu      sync.Mutex
	allowed map[string][]string // namespace -> users
	calls   int
	err     error
}

func (f *fakeReviewer) CanAccess(_ context.Context, id Identity, ns string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	for _, u := range f.allowed[ns] {
		if u == id.User {
			return true, nil
		}
	}
	return false, nil
}

func standardReviewer() *fakeReviewer {
	return &fakeReviewer{allowed: map[string][]string{
		"team-a": {"alice@example.com", "system:serviceaccount:team-a:ci"},
	}}
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// fixture is a verify and sign-in handler pair over a fake cluster.
type fixture struct {
	store    *fakeStore
	reviewer *fakeReviewer
	limiter  *FailureLimiter
	sessions Sessions
	codes    *CodeLedger
	now      time.Time
	verify   http.Handler
	signin   http.Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: standardStore(), reviewer: standardReviewer(), now: testNow,
		sessions: Sessions{Secret: testSecret}, codes: &CodeLedger{MaxEntries: 100}}
	clock := func() time.Time { return f.now }
	cfg := configsource.Static(testConfig())
	resolver := &Resolver{Store: f.store, Config: cfg, Now: clock}
	f.limiter = &FailureLimiter{Burst: 3, Refill: time.Minute, MaxClients: 100, Now: clock}
	f.verify = &verifyHandler{
		auth:    &Authenticator{Resolver: resolver, Sessions: f.sessions, Codes: f.codes},
		access:  f.reviewer,
		limiter: f.limiter, now: clock, log: logr.Discard(),
	}
	f.signin = &signinHandler{resolver: resolver, sessions: f.sessions, config: cfg, limiter: f.limiter,
		maxAge: 8 * time.Hour, now: clock, log: logr.Discard()}
	return f
}

// verifyRequest builds a /auth/verify request for namespace as ingress-nginx
// sends it, from client.
func verifyRequest(namespace string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/auth/verify?namespace="+namespace, nil)
	r.Header.Set("X-Real-IP", "192.0.2.10")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

// serve runs r through h as the service sees it behind ingress-nginx:
// httptest's peer (192.0.2.1) is a trusted proxy, so X-Real-IP is believed.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	withClient(h, fixtureProxies).ServeHTTP(w, r)
	return w
}

var fixtureProxies = func() *trustedProxies {
	c := testConfig()
	c.Auth.TrustedProxies = []string{"192.0.2.1/32"}
	return &trustedProxies{config: configsource.Static(c)}
}()

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func cookieHeader(value string) map[string]string {
	return map[string]string{"Cookie": fmt.Sprintf("%s=%s", CookieName, value)}
}

var errBoom = errors.New("boom")

func mustContain(t *testing.T, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Fatalf("%q does not contain %q", s, want)
	}
}

// uidFor is the UID of the standard store's object holding the token with
// digest d ("" for none): what a session made today carries.
func uidFor(d Digest) string {
	st := standardStore()
	for _, s := range st.secrets {
		if DigestOf(string(s.Data[tokens.KeyToken])) == d {
			return string(s.UID)
		}
	}
	for _, sa := range st.accounts {
		if DigestOf(sa.Labels[tokens.LabelToken]) == d {
			return string(sa.UID)
		}
	}
	return ""
}
