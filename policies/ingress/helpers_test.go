package ingress_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	sigsjson "sigs.k8s.io/json"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/internal/policytest"
	"devgate.dev/devgate/policies/service"
)

// The engine the webhook and the CLI build, restricted to the endpoint policies.
var eng = engine.New(service.New(), ingress.New())

var ingressGVK = networkingv1.SchemeGroupVersion.WithKind("Ingress")

// httpValue is the http value of most test rules, "$HTTP" in the YAML below.
const httpValue = "{paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}"

// expand turns flow-style test YAML into JSON: "$HTTP" stands for httpValue.
func expand(t testing.TB, y string) []byte {
	t.Helper()
	return policytest.YAMLToJSON(t, strings.ReplaceAll(y, "$HTTP", httpValue))
}

// ingressJSON is an Ingress in wire form; meta and spec are flow-style YAML.
func ingressJSON(t testing.TB, meta, spec string) []byte {
	t.Helper()
	return expand(t, "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: "+meta+", spec: "+spec+"}")
}

// The checks every policy's table tests share.
type wantErr policytest.WantErr

var (
	checkDenials  = policytest.CheckDenials[wantErr]
	checkWarnings = policytest.CheckWarnings
	errorStrings  = policytest.ErrorStrings
	mustJSON      = policytest.MustJSON
	applyPatch    = policytest.ApplyPatch
)

// ingCase is one rule or boundary: the Ingress in, and the exact outcome.
type ingCase struct {
	name string
	cfg  func(*config.Config)
	ns   string // request namespace, "alice" when empty
	// meta and spec of the Ingress under admission, flow-style YAML.
	meta, spec string
	// oldMeta/oldSpec make the request an UPDATE.
	oldMeta, oldSpec string

	denials  []wantErr
	warnings []string
	// annotations is the exact annotation map after mutation (nil: none).
	annotations map[string]string
	// wantSpec is the exact spec after mutation; "" means unchanged.
	wantSpec string
	// unhandled: the object must pass untouched (unmanaged namespace).
	unhandled bool
	// existing are the other namespaces that exist (host ownership).
	existing []string
}

// namespacesLookup is a policies.Lookup that knows which namespaces exist.
type namespacesLookup struct {
	policies.NoLookup
	names []string
}

func (l namespacesLookup) NamespaceExists(name string) bool { return slices.Contains(l.names, name) }

func runIngressCases(t *testing.T, cases []ingCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			in := inputOf(t, c)
			out := eng.Admit(in, cfg, namespacesLookup{names: c.existing})
			if out.Handled == c.unhandled {
				t.Fatalf("Handled = %v, want %v", out.Handled, !c.unhandled)
			}
			checkDenials(t, out.Denials, c.denials)
			checkWarnings(t, out.Warnings, c.warnings)

			got := out.Object.(*networkingv1.Ingress)
			if c.unhandled {
				if len(out.Patch) != 0 {
					t.Fatalf("unhandled object patched: %v", out.Patch)
				}
				return
			}
			if !maps.Equal(got.Annotations, c.annotations) {
				t.Errorf("annotations:\n got %s\nwant %s", mustJSON(got.Annotations), mustJSON(c.annotations))
			}
			wantSpec := c.wantSpec
			if wantSpec == "" {
				wantSpec = c.spec
			}
			var want networkingv1.IngressSpec
			if err := json.Unmarshal(expand(t, wantSpec), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(got.Spec), mustJSON(want); g != w {
				t.Errorf("spec:\n got %s\nwant %s", g, w)
			}
			checkIdempotent(t, in, out, cfg, namespacesLookup{names: c.existing})
		})
	}
}

// inputOf is the admission request of c.
func inputOf(t testing.TB, c ingCase) engine.Input {
	ns := c.ns
	if ns == "" {
		ns = "alice"
	}
	in := engine.Input{Operation: policies.Create, Kind: ingressGVK, Namespace: ns, Object: ingressJSON(t, c.meta, c.spec)}
	if c.oldMeta != "" {
		in.Operation = policies.Update
		in.OldObject = ingressJSON(t, c.oldMeta, c.oldSpec)
	}
	return in
}

// checkIdempotent admits the mutated object again: see policytest.CheckIdempotent.
func checkIdempotent(t *testing.T, in engine.Input, out engine.Output, cfg *config.Config, lookup policies.Lookup) {
	t.Helper()
	policytest.CheckIdempotent(t, eng, in, out, cfg, lookup)
}

// decodeIngress decodes wire JSON as the engine does.
func decodeIngress(raw []byte) (*networkingv1.Ingress, error) {
	var ing networkingv1.Ingress
	err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &ing)
	return &ing, err
}

// The URLs of the built-in configuration, for expected annotations.
const (
	authURL     = "https://okteto.example.com/auth/verify?namespace=alice"
	authSignin  = "https://okteto.example.com/auth/signin?rd=$scheme://$host$escaped_request_uri"
	authHeaders = "X-Auth-Request-User,X-Auth-Request-Email"
)

// withTLS sets tls.mode (and the issuer in cert-manager mode).
func withTLS(mode string) func(*config.Config) {
	return func(c *config.Config) {
		c.TLS.Mode = mode
		if mode == config.TLSModeCertManager {
			c.TLS.ClusterIssuer = "letsencrypt"
		}
	}
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
