package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/ingress"
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
func toJSON(t testing.TB, y string) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("bad test YAML %q: %v", y, err)
	}
	return j
}

func serviceJSON(t testing.TB, meta, spec string) []byte {
	t.Helper()
	return toJSON(t, "{apiVersion: v1, kind: Service, metadata: "+meta+", spec: "+spec+"}")
}

// wantErr is an expected denial: exact type and field, a fragment of the detail.
type wantErr struct {
	Type   field.ErrorType
	Field  string
	Detail string
}

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

// checkIdempotent applies the patch to the input as the API server does,
// admits the result again and wants an empty patch, no warning and the same
// denials.
func checkIdempotent(t *testing.T, in engine.Input, out engine.Output, cfg *config.Config) {
	t.Helper()
	in.Object = applyPatch(t, in.Object, out)
	again := eng.Admit(in, cfg, nil)
	if len(again.Patch) != 0 {
		t.Errorf("not idempotent: second patch %s", mustJSON(again.Patch))
	}
	if len(again.Warnings) != 0 {
		t.Errorf("second admission warns: %q", again.Warnings)
	}
	if mustJSON(errorStrings(again.Denials)) != mustJSON(errorStrings(out.Denials)) {
		t.Errorf("second admission denials differ:\n%q\n%q", errorStrings(again.Denials), errorStrings(out.Denials))
	}
}

func applyPatch(t testing.TB, doc []byte, out engine.Output) []byte {
	t.Helper()
	if len(out.Patch) == 0 {
		return doc
	}
	p, err := jsonpatch.DecodePatch([]byte(mustJSON(out.Patch)))
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	patched, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch %s to %s: %v", mustJSON(out.Patch), doc, err)
	}
	return patched
}

func checkDenials(t *testing.T, got field.ErrorList, want []wantErr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("denials: got %d %q, want %d %+v", len(got), errorStrings(got), len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Type != w.Type || g.Field != w.Field || !strings.Contains(g.Detail, w.Detail) {
			t.Errorf("denial %d:\n got %s %s %q\nwant %s %s containing %q", i, g.Type, g.Field, g.Detail, w.Type, w.Field, w.Detail)
		}
	}
}

func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("warnings: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("warning %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func errorStrings(errs field.ErrorList) []string {
	s := make([]string, 0, len(errs))
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
