package all

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/test/bench/objects"
)

// BenchmarkReview is the cost of one admission review of each kind of the
// benchmark mix through every policy, as the webhook pays it: /mutate (decode,
// mutators, patch) and /validate (decode, validators), without the HTTP and
// AdmissionReview envelope, which test/bench measures.
func BenchmarkReview(b *testing.B) {
	eng := Engine()
	cfg := config.Default()
	// One other ServiceAccount holds each token, as in a cluster with many.
	lookup := mapLookup{}
	for i := range objects.Kinds {
		raw, gvk := encode(b, objects.Object(i))
		in := engine.Input{Operation: policies.Create, Kind: gvk, Object: raw, User: objects.Requester}
		// The API server validates the mutated object.
		mutated := eng.Mutate(in, cfg, lookup)
		if !mutated.Allowed() {
			b.Fatalf("%s denied by the mutators: %v", gvk.Kind, mutated.Denials)
		}
		validateIn := in
		validateIn.Object, _ = encode(b, mutated.Object)
		for _, step := range []struct {
			name string
			in   engine.Input
			run  func(engine.Input, *config.Config, policies.Lookup) engine.Output
		}{{"mutate", in, eng.Mutate}, {"validate", validateIn, eng.Validate}} {
			b.Run(gvk.Kind+"/"+step.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					out := step.run(step.in, cfg, lookup)
					if !out.Allowed() {
						b.Fatalf("denied: %v", out.Denials)
					}
				}
			})
		}
	}
}

func encode(b *testing.B, obj runtime.Object) ([]byte, schema.GroupVersionKind) {
	b.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		b.Fatal(err)
	}
	return raw, obj.GetObjectKind().GroupVersionKind()
}

type mapLookup map[string][]string

func (m mapLookup) ServiceAccountsWithToken(token string) []string { return m[token] }
func (m mapLookup) NamespaceExists(string) bool                    { return false }
func (m mapLookup) HostsFitting(string) []policies.HostUse         { return nil }
