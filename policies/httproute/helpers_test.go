package httproute_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/internal/policytest"
)

// The engine the webhook and the CLI build, restricted to this policy.
var eng = engine.New(httproute.New())

// Shorthands of the test YAML, for the configuration of routesConfig.
const (
	// $GW is the platform Gateway's parentRef as the mutation writes it.
	gwRef = "{group: gateway.networking.k8s.io, kind: Gateway, namespace: gateways, name: public}"
	// $AUTH is devgate's ExternalAuth filter for namespace alice.
	authFilter = `{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {group: "", kind: Service, name: devgate-auth, namespace: devgate, port: 80},` +
		` http: {path: /auth/verify/alice, allowedHeaders: [Cookie, X-Forwarded-For, X-Forwarded-Proto], allowedResponseHeaders: [X-Auth-Request-User, X-Auth-Request-Email]}}}`
	// $BACKEND is a rule's backendRefs to the namespace's Service web.
	backendRefs = "[{name: web, port: 8080}]"
)

// expand turns flow-style test YAML into JSON, replacing the shorthands.
func expand(t testing.TB, y string) []byte {
	t.Helper()
	return policytest.YAMLToJSON(t, strings.NewReplacer("$GW", gwRef, "$AUTH", authFilter, "$BACKEND", backendRefs).Replace(y))
}

// routeJSON is an HTTPRoute in wire form; meta and spec are flow-style YAML.
func routeJSON(t testing.TB, meta, spec string) []byte {
	t.Helper()
	return expand(t, "{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: "+meta+", spec: "+spec+"}")
}

// routesConfig is the built-in configuration in HTTPRoute mode: Gateway
// gateways/public, auth Service devgate/devgate-auth port 80.
func routesConfig() *config.Config {
	cfg := config.Default()
	cfg.Endpoints.Kind = config.EndpointsKindHTTPRoute
	cfg.Endpoints.Gateway = config.GatewayRef{Namespace: "gateways", Name: "public"}
	cfg.Endpoints.AuthService.Namespace, cfg.Endpoints.AuthService.Name = "devgate", "devgate-auth"
	if errs := cfg.Validate(); len(errs) > 0 {
		panic(errs.ToAggregate())
	}
	return cfg
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

// routeCase is one rule or boundary: the HTTPRoute in, and the exact outcome.
type routeCase struct {
	name string
	// cfg changes routesConfig; ingressMode starts from the built-in
	// configuration instead (no Gateway, no auth service).
	cfg         func(*config.Config)
	ingressMode bool
	ns          string // request namespace, "alice" when empty
	meta, spec  string // of the HTTPRoute under admission, flow-style YAML
	// validateOnly runs the validating webhook alone, as when the mutating
	// webhook did not run.
	validateOnly bool

	denials  []wantErr
	warnings []string
	// annotations is the exact annotation map after admission (nil: none).
	annotations map[string]string
	// wantSpec is the exact spec after admission; "" means unchanged.
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

func (c routeCase) config() *config.Config {
	cfg := routesConfig()
	if c.ingressMode {
		cfg = config.Default()
	}
	if c.cfg != nil {
		c.cfg(cfg)
	}
	return cfg
}

func (c routeCase) input(t testing.TB) engine.Input {
	ns := c.ns
	if ns == "" {
		ns = "alice"
	}
	return engine.Input{Operation: policies.Create, Kind: httproute.GVK, Namespace: ns, Object: routeJSON(t, c.meta, c.spec)}
}

func runRouteCases(t *testing.T, cases []routeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.config()
			in := c.input(t)
			lookup := namespacesLookup{names: c.existing}
			run := eng.Admit
			if c.validateOnly {
				run = eng.Validate
			}
			out := run(in, cfg, lookup)
			if out.Handled == c.unhandled {
				t.Fatalf("Handled = %v, want %v", out.Handled, !c.unhandled)
			}
			checkDenials(t, out.Denials, c.denials)
			checkWarnings(t, out.Warnings, c.warnings)
			if c.unhandled || c.validateOnly {
				if len(out.Patch) != 0 {
					t.Fatalf("patched: %v", out.Patch)
				}
				return
			}
			got := out.Object.(*gatewayv1.HTTPRoute)
			if !maps.Equal(got.Annotations, c.annotations) {
				t.Errorf("annotations:\n got %s\nwant %s", mustJSON(got.Annotations), mustJSON(c.annotations))
			}
			wantSpec := c.wantSpec
			if wantSpec == "" {
				wantSpec = c.spec
			}
			var want gatewayv1.HTTPRouteSpec
			if err := json.Unmarshal(expand(t, wantSpec), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(got.Spec), mustJSON(want); g != w {
				t.Errorf("spec:\n got %s\nwant %s", g, w)
			}
			checkIdempotent(t, in, out, cfg, lookup)
		})
	}
}

// checkIdempotent admits the mutated object again: see policytest.CheckIdempotent.
func checkIdempotent(t *testing.T, in engine.Input, out engine.Output, cfg *config.Config, lookup policies.Lookup) {
	t.Helper()
	policytest.CheckIdempotent(t, eng, in, out, cfg, lookup)
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }

var gatewayForwardBody = gatewayv1.ForwardBodyConfig{MaxSize: 1024}
