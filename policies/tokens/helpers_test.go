package tokens_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/tokens"
)

// The test tables run through the engine with raw JSON, as the webhook and the
// CLI do, so decoding and the patch are covered with the policies.

const ns = "dev"

var (
	secretKind = corev1.SchemeGroupVersion.WithKind("Secret")
	saKind     = corev1.SchemeGroupVersion.WithKind("ServiceAccount")

	alice  = authenticationv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}}
	bob    = authenticationv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}
	admin  = authenticationv1.UserInfo{Username: "root", Groups: []string{"system:authenticated", "system:masters"}}
	issuer = authenticationv1.UserInfo{Username: "token-issuer", Groups: []string{"system:authenticated"}}
)

// secretsUsed holds every token value and client secret the tests put in an
// object; check asserts that no denial or warning ever contains one.
var secretsUsed = map[string]bool{}

// secret registers v as a secret value and returns it.
func secret(v string) string {
	secretsUsed[v] = true
	return v
}

// Token values. strong is 20 characters; the others sit on a boundary.
var (
	strong     = secret("Zq3vT8pL0mX5rW2kYb7n")
	strong2    = secret("Hj4kLm9Np2Qr5St8Vw1x")
	len16      = secret("Zq3vT8pL0mX5rW2k")
	len15      = secret("Zq3vT8pL0mX5rW2")
	distinct8  = secret("abcdefghabcdefgh")
	distinct7  = secret("abcdefgabcdefgab")
	len4096    = secret(strings.Repeat("Zq3vT8pL", 512))
	len4097    = secret(strings.Repeat("Zq3vT8pL", 512) + "x")
	withSpace  = secret("Zq3vT8pL 0mX5rW2kYb")
	withTab    = secret("Zq3vT8pL\t0mX5rW2kYb")
	withDEL    = secret("Zq3vT8pL\x7f0mX5rW2kYb")
	nonASCII   = secret("Zq3vT8pLé0mX5rW2kYb")
	nonUTF8    = secret("Zq3vT8pL\xff0mX5rW2kYb")
	clientSecr = secret("oidc-Cl1ent-S3cret-value")
)

func testConfig() *config.Config {
	c := config.Default()
	c.Tokens.Issuers = []string{issuer.Username}
	c.Tokens.GuardedSecrets = []config.GuardedSecret{{Namespace: "keptn", Name: "keptn-api-token", Key: "keptn-api-token"}}
	return c
}

func newEngine() *engine.Engine {
	return engine.New(
		tokens.NewTokenSecretPolicy(),
		tokens.NewGuardedSecretPolicy(),
		tokens.NewServiceAccountPolicy(),
		tokens.NewOIDCConnectorPolicy(),
	)
}

// seededRand is the random source of generated tokens in the tables: each
// case starts it afresh, so the n-th token a case generates is generated(n).
func seededRand() io.Reader { return rand.NewChaCha8([32]byte{'d', 'e', 'v', 'g', 'a', 't', 'e'}) }

// generatedTokens are the first tokens generated from seededRand, registered
// as secrets: no message may hold them.
var generatedTokens = func() []string {
	defer tokens.SetRandReader(seededRand())()
	var out []string
	for range 3 {
		v, err := tokens.GenerateToken()
		if err != nil {
			panic(err)
		}
		out = append(out, secret(v))
	}
	return out
}()

// generated is the n-th (from 1) token a case generates.
func generated(n int) string { return generatedTokens[n-1] }

// generatedNote is the warning for a token generated at path.
func generatedNote(path string) string { return path + tokens.GeneratedNote }

// obj describes a Secret or ServiceAccount under test.
type obj struct {
	namespace, name     string
	typ                 corev1.SecretType
	data, stringData    map[string]string
	labels, annotations map[string]string
	// nullData are keys of data whose value is JSON null.
	nullData []string
}

func (o obj) meta() metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: o.name, Namespace: o.namespace, Labels: o.labels, Annotations: o.annotations}
	if m.Name == "" {
		m.Name = "obj"
	}
	if m.Namespace == "" {
		m.Namespace = ns
	}
	return m
}

// secretJSON is the wire form of a Secret: data values base64, as the API
// server sends them.
func (o obj) secretJSON() []byte {
	s := corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: o.meta(),
		Type:       o.typ,
		StringData: o.stringData,
	}
	if o.data != nil || o.nullData != nil {
		s.Data = map[string][]byte{}
		for k, v := range o.data {
			s.Data[k] = []byte(v)
		}
		for _, k := range o.nullData {
			s.Data[k] = nil // encoded as null
		}
	}
	return mustJSON(s)
}

func (o obj) saJSON() []byte {
	return mustJSON(corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: o.meta()})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func tokenSecret(data map[string]string) obj {
	return obj{name: "tok", typ: tokens.TypeToken, data: data}
}

// with returns a copy of m with the given key/value pairs set; a value of
// "<delete>" removes the key.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// fakeLookup maps a token to the ServiceAccounts that carry it.
type fakeLookup map[string][]string

func (f fakeLookup) ServiceAccountsWithToken(token string) []string { return f[token] }
func (f fakeLookup) NamespaceExists(string) bool                    { return false }
func (f fakeLookup) HostsFitting(string) []policies.HostUse         { return nil }

// admission is one case: an input and its exact outcome.
type admission struct {
	name     string
	op       policies.Operation
	user     authenticationv1.UserInfo
	kind     string // "" = Secret, "sa" = ServiceAccount
	obj, old *obj
	lookup   policies.Lookup

	// denials are "field: type", e.g. "data[ttl]: Invalid value", in order.
	denials []string
	// detail, when set, must be part of the denials' text.
	detail string
	// patch is "op path value-as-JSON", sorted by path.
	patch    []string
	warnings []string
}

func (c admission) input() engine.Input {
	in := engine.Input{Operation: c.op, Kind: secretKind, Namespace: ns, User: c.user}
	encode := obj.secretJSON
	if c.kind == "sa" {
		in.Kind = saKind
		encode = obj.saJSON
	}
	if c.op == "" {
		in.Operation = policies.Create
	}
	if c.obj != nil && in.Operation != policies.Delete {
		in.Object = encode(*c.obj)
	}
	if c.old != nil {
		in.OldObject = encode(*c.old)
	}
	return in
}

func runAdmissions(t *testing.T, cases []admission) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

func (c admission) check(t *testing.T) {
	t.Helper()
	lookup := c.lookup
	if lookup == nil {
		lookup = policies.NoLookup{}
	}
	restore := tokens.SetRandReader(seededRand())
	out := newEngine().Admit(c.input(), testConfig(), lookup)
	restore()

	var got []string
	var text []string
	for _, d := range out.Denials {
		got = append(got, fmt.Sprintf("%s: %s", d.Field, d.Type))
		text = append(text, d.Error())
	}
	if !slices.Equal(got, c.denials) {
		t.Errorf("denials:\n got %q\nwant %q\ntext: %s", got, c.denials, strings.Join(text, "\n      "))
	}
	if c.detail != "" && !strings.Contains(strings.Join(text, "\n"), c.detail) {
		t.Errorf("denials do not say %q:\n%s", c.detail, strings.Join(text, "\n"))
	}
	var patch []string
	for _, op := range out.Patch {
		patch = append(patch, fmt.Sprintf("%s %s %s", op.Operation, op.Path, mustJSON(op.Value)))
	}
	slices.Sort(patch)
	if !slices.Equal(patch, c.patch) {
		t.Errorf("patch:\n got %q\nwant %q", patch, c.patch)
	}
	if !slices.Equal(out.Warnings, c.warnings) {
		t.Errorf("warnings:\n got %q\nwant %q", out.Warnings, c.warnings)
	}
	assertNoSecrets(t, append(text, out.Warnings...))
}

// assertNoSecrets fails when a message holds any secret value a test used.
func assertNoSecrets(t *testing.T, messages []string) {
	t.Helper()
	for _, m := range messages {
		for s := range secretsUsed {
			if strings.Contains(m, s) {
				t.Errorf("message leaks a secret value: %q", m)
			}
		}
	}
}
