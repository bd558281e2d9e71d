package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/internal/policytest"
	"devgate.dev/devgate/policies/service"
)

// The engine the webhook and the CLI build, restricted to the endpoint policies.
var eng = engine.New(service.New(), ingress.New())

var (
	serviceGVK = corev1.SchemeGroupVersion.WithKind("Service")
	ingressGVK = networkingv1.SchemeGroupVersion.WithKind("Ingress")
)

const (
	autoKy     = service.AnnotationAutoIngress
	endpointKy = service.AnnotationEndpoint
)

// toJSON turns flow-style test YAML into JSON.
var toJSON = policytest.YAMLToJSON

func serviceJSON(t testing.TB, meta, spec string) []byte {
	t.Helper()
	return toJSON(t, "{apiVersion: v1, kind: Service, metadata: "+meta+", spec: "+spec+"}")
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

// svcCase is one rule or boundary: the Service in, and the exact outcome.
type svcCase struct {
	name string
	cfg  func(*config.Config)
	ns   string // request namespace, "alice" when empty
	// meta and spec of the Service under admission, flow-style YAML.
	meta, spec string
	// oldMeta/oldSpec make the request an UPDATE.
	oldMeta, oldSpec string

	denials  []wantErr
	warnings []string
	// annotations is the exact annotation map after mutation (nil: none).
	annotations map[string]string
	// wantSpec is the exact spec after mutation; "" means unchanged.
	wantSpec  string
	unhandled bool
}

func inputOf(t testing.TB, c svcCase) engine.Input {
	ns := c.ns
	if ns == "" {
		ns = "alice"
	}
	in := engine.Input{Operation: policies.Create, Kind: serviceGVK, Namespace: ns, Object: serviceJSON(t, c.meta, c.spec)}
	if c.oldMeta != "" {
		in.Operation = policies.Update
		in.OldObject = serviceJSON(t, c.oldMeta, c.oldSpec)
	}
	return in
}

func runServiceCases(t *testing.T, cases []svcCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			in := inputOf(t, c)
			out := eng.Admit(in, cfg, nil)
			if out.Handled == c.unhandled {
				t.Fatalf("Handled = %v, want %v", out.Handled, !c.unhandled)
			}
			checkDenials(t, out.Denials, c.denials)
			checkWarnings(t, out.Warnings, c.warnings)
			got := out.Object.(*corev1.Service)
			if c.unhandled {
				if len(out.Patch) != 0 {
					t.Fatalf("unhandled object patched: %v", out.Patch)
				}
				return
			}
			if g, w := mustJSON(got.Annotations), mustJSON(c.annotations); g != w && (len(got.Annotations) > 0 || len(c.annotations) > 0) {
				t.Errorf("annotations:\n got %s\nwant %s", g, w)
			}
			wantSpec := c.wantSpec
			if wantSpec == "" {
				wantSpec = c.spec
			}
			var want corev1.ServiceSpec
			if err := json.Unmarshal(toJSON(t, wantSpec), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(got.Spec), mustJSON(want); g != w {
				t.Errorf("spec:\n got %s\nwant %s", g, w)
			}
			checkIdempotent(t, in, out, cfg)
		})
	}
}

// checkIdempotent admits the mutated object again: see policytest.CheckIdempotent.
func checkIdempotent(t *testing.T, in engine.Input, out engine.Output, cfg *config.Config) {
	t.Helper()
	policytest.CheckIdempotent(t, eng, in, out, cfg, nil)
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
