package engine_test

import (
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// recorder is a policy that records what the engine hands it.
type recorder struct {
	ops      []policies.Operation
	mutated  int
	seen     []*policies.Request
	mutating bool
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Handles() []policies.Rule {
	return []policies.Rule{{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Secret"), Resource: "secrets",
		Operations: r.ops, Mutating: r.mutating, Validating: true}}
}
func (r *recorder) Mutate(req *policies.Request) policies.Result {
	r.mutated++
	req.Object.(*corev1.Secret).Labels = map[string]string{"m": "1"}
	return policies.Result{}
}
func (r *recorder) Validate(req *policies.Request) policies.Result {
	r.seen = append(r.seen, req)
	return policies.Result{Denials: field.ErrorList{field.Forbidden(field.NewPath("x"), "no")}}
}

var secretKind = corev1.SchemeGroupVersion.WithKind("Secret")

func TestDeleteGetsOnlyTheOldObject(t *testing.T) {
	r := &recorder{ops: []policies.Operation{policies.Delete}, mutating: true}
	out := engine.New(r).Admit(engine.Input{Operation: policies.Delete, Kind: secretKind, Namespace: "a",
		OldObject: []byte(`{"metadata":{"name":"s"}}`), User: authenticationv1.UserInfo{Username: "u"}}, config.Default(), nil)
	if r.mutated != 0 || len(r.seen) != 1 {
		t.Fatalf("mutated %d times, validated %d times", r.mutated, len(r.seen))
	}
	req := r.seen[0]
	if req.Object != nil || req.OldObject.(*corev1.Secret).Namespace != "a" || req.User.Username != "u" {
		t.Fatalf("request = %+v", req)
	}
	if out.Allowed() || out.Patch != nil || out.Object != nil {
		t.Fatalf("out = %+v", out)
	}
}

func TestOperationsNotDeclaredAreNotSent(t *testing.T) {
	r := &recorder{ops: []policies.Operation{policies.Create}, mutating: true}
	out := engine.New(r).Admit(engine.Input{Operation: policies.Update, Kind: secretKind, Namespace: "a",
		Object: []byte(`{}`), OldObject: []byte(`{}`)}, config.Default(), nil)
	if r.mutated != 0 || len(r.seen) != 0 || out.Handled || !out.Allowed() || len(out.Patch) != 0 {
		t.Fatalf("policy ran for an undeclared operation: %+v", out)
	}
}

func TestUnmanagedNamespaceAndUnknownKindPassUntouched(t *testing.T) {
	r := &recorder{ops: []policies.Operation{policies.Create}, mutating: true}
	e := engine.New(r)
	out := e.Admit(engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "kube-system", Object: []byte(`{}`)}, config.Default(), nil)
	if out.Handled || !out.Allowed() || len(out.Patch) != 0 || r.mutated != 0 {
		t.Fatalf("kube-system: %+v", out)
	}
	// The object's own namespace counts, not only the request's.
	out = e.Admit(engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "a", Object: []byte(`{"metadata":{"namespace":"kube-public"}}`)}, config.Default(), nil)
	if out.Handled || r.mutated != 0 {
		t.Fatalf("kube-public: %+v", out)
	}
	out = e.Admit(engine.Input{Operation: policies.Create, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "a", Object: []byte(`not json`)}, config.Default(), nil)
	if out.Handled || !out.Allowed() {
		t.Fatalf("Pod: %+v", out)
	}
}

func TestMutationPatchHoldsOnlyTheChange(t *testing.T) {
	r := &recorder{ops: []policies.Operation{policies.Create}, mutating: true}
	// Fields the typed form would normalise (no creationTimestamp, an unknown
	// field) must not show up in the patch.
	out := engine.New(r).Mutate(engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "a",
		Object: []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque"}`)}, config.Default(), nil)
	if len(out.Patch) != 1 || out.Patch[0].Operation != "add" || out.Patch[0].Path != "/metadata/labels" {
		t.Fatalf("patch = %+v", out.Patch)
	}
	if out.Object.GetNamespace() != "a" {
		t.Fatalf("object not placed in the request's namespace: %q", out.Object.GetNamespace())
	}
}

func TestUndecodableObjectIsDeniedWithTheReason(t *testing.T) {
	r := &recorder{ops: []policies.Operation{policies.Create}, mutating: true}
	cases := map[string]string{
		"not JSON":       `{`,
		"wrong type":     `{"metadata":"x"}`,
		"non-base64":     `{"data":{"token":"%%%"}}`,
		"case-sensitive": `{"Metadata":{"Name":"x"}}`,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			out := engine.New(r).Admit(engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "a", Object: []byte(raw)}, config.Default(), nil)
			if name == "case-sensitive" {
				// Unknown (wrongly cased) fields are dropped as the API server
				// drops them; the object decodes and the policy runs.
				if out.Denials.ToAggregate() == nil || !strings.Contains(out.Denials.ToAggregate().Error(), "x: Forbidden") {
					t.Fatalf("out = %+v", out)
				}
				return
			}
			if out.Allowed() || !strings.Contains(out.Denials.ToAggregate().Error(), "cannot decode Secret") {
				t.Fatalf("out = %+v", out.Denials)
			}
		})
	}
}

func TestDenialMessageNamesKindObjectAndFields(t *testing.T) {
	got := engine.DenialMessage("Ingress", "alice", "web", field.ErrorList{
		field.Invalid(field.NewPath("spec", "rules").Index(0).Child("host"), "x.example.com", "not allowed"),
		field.Forbidden(field.NewPath("metadata", "annotations").Key("a"), "no"),
	})
	want := `Ingress "web" in namespace "alice" is invalid: spec.rules[0].host: Invalid value: "x.example.com": not allowed; metadata.annotations[a]: Forbidden: no`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
