package service_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/test/bench/objects"
)

// sinkService keeps copies on the heap, as the engine's decoded objects are.
var sinkService *corev1.Service

// TestReviewAllocations holds the policy's own allocations on the benchmark's
// Services (BenchmarkReview in policies/all) to what it must build: the host
// (validation) and the URL it records (mutation). Messages and field paths
// are built only for denials.
func TestReviewAllocations(t *testing.T) {
	cfg := config.Default()
	for _, i := range []int{0, 4} { // auto-ingress "true" and "private"
		in := objects.Object(i).(*corev1.Service)
		t.Run(in.Annotations[service.AnnotationAutoIngress], func(t *testing.T) {
			copyOnly := testing.AllocsPerRun(100, func() { sinkService = in.DeepCopy() })
			mutate := testing.AllocsPerRun(100, func() {
				sinkService = in.DeepCopy()
				service.Mutate(sinkService, cfg)
			}) - copyOnly
			if mutate > 2 {
				t.Errorf("Mutate: %v allocations, want at most 2", mutate)
			}
			admitted := in.DeepCopy()
			service.Mutate(admitted, cfg)
			if errs := service.Validate(admitted, cfg, nil); len(errs) > 0 {
				t.Fatalf("the mutated Service is denied: %v", errs)
			}
			// The host, and the view of the lookup that decides who owns it.
			if n := testing.AllocsPerRun(100, func() { service.Validate(admitted, cfg, nil) }); n > 2 {
				t.Errorf("Validate: %v allocations, want at most 2", n)
			}
		})
	}
}
