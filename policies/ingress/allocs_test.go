package ingress_test

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/test/bench/objects"
)

// sinkIngress keeps copies on the heap, as the engine's decoded objects are.
var sinkIngress *networkingv1.Ingress

// TestReviewAllocations holds the policy's own allocations on the benchmark's
// Ingresses (BenchmarkReview in policies/all) to what it must store: the
// generated host, its TLS entry, the endpoints annotation and, when private,
// the three auth annotations. Validating an admitted Ingress allocates
// nothing: paths, messages and sorted key lists are built only for denials.
func TestReviewAllocations(t *testing.T) {
	cfg := config.Default()
	for _, c := range []struct {
		name         string
		i            int // objects.Object(i)
		mutateBudget float64
	}{{"private", 1, 7}, {"public", 5, 4}} {
		t.Run(c.name, func(t *testing.T) {
			in := objects.Object(c.i).(*networkingv1.Ingress)
			copyOnly := testing.AllocsPerRun(100, func() { sinkIngress = in.DeepCopy() })
			mutate := testing.AllocsPerRun(100, func() {
				sinkIngress = in.DeepCopy()
				ingress.Mutate(sinkIngress, cfg)
			}) - copyOnly
			t.Logf("Mutate: %v allocations", mutate)
			if mutate > c.mutateBudget {
				t.Errorf("Mutate: %v allocations, want at most %v", mutate, c.mutateBudget)
			}
			admitted := in.DeepCopy()
			ingress.Mutate(admitted, cfg)
			if errs := ingress.Validate(admitted, cfg, nil); len(errs) > 0 {
				t.Fatalf("the mutated Ingress is denied: %v", errs)
			}
			if n := testing.AllocsPerRun(100, func() { ingress.Validate(admitted, cfg, nil) }); n > 0 {
				t.Errorf("Validate: %v allocations, want none", n)
			}
		})
	}
}
