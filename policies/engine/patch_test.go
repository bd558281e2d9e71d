package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkPatch asserts that createPatch's operations, applied by an independent
// RFC 6902 implementation to before's encoding, give after's encoding.
func checkPatch(t *testing.T, before, after *corev1.Service) {
	t.Helper()
	ops, err := createPatch(before, after)
	if err != nil {
		t.Fatalf("createPatch: %v", err)
	}
	a, _ := json.Marshal(before)
	b, _ := json.Marshal(after)
	encoded, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatchapply.DecodePatch(encoded)
	if err != nil {
		t.Fatalf("decoding %s: %v", encoded, err)
	}
	got, err := p.Apply(a)
	if err != nil {
		t.Fatalf("applying %s to %s: %v", encoded, a, err)
	}
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("patch %s\nturns %s\ninto  %s\nwant  %s", encoded, a, got, b)
	}
	if reflect.DeepEqual(before, after) != (len(ops) == 0) {
		t.Errorf("equal objects must give no operation and different ones some: %s", encoded)
	}
}

func service(annotations map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice", Annotations: annotations},
		Spec:       corev1.ServiceSpec{Ports: ports, Type: corev1.ServiceTypeLoadBalancer},
	}
}

func TestCreatePatch(t *testing.T) {
	http := corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}
	grpc := corev1.ServicePort{Name: "grpc", Port: 9090}
	tests := []struct {
		name          string
		before, after *corev1.Service
		mutate        func(*corev1.Service)
	}{
		{name: "unchanged", before: service(nil, http)},
		{name: "annotation added to none (key with / escaped as ~1)", before: service(nil, http),
			mutate: func(s *corev1.Service) { s.Annotations = map[string]string{"devgate.dev/endpoint": "https://web"} }},
		{name: "annotation added beside others", before: service(map[string]string{"a": "1", "z~x": "2"}, http),
			mutate: func(s *corev1.Service) { s.Annotations["m/n"] = "3" }},
		{name: "annotation changed and one removed", before: service(map[string]string{"a": "1", "b": "2"}, http),
			mutate: func(s *corev1.Service) { s.Annotations["a"] = "x"; delete(s.Annotations, "b") }},
		{name: "all annotations removed", before: service(map[string]string{"a": "1"}, http),
			mutate: func(s *corev1.Service) { s.Annotations = nil }},
		{name: "scalar changed (type converted)", before: service(nil, http),
			mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }},
		{name: "list grown", before: service(nil, http),
			mutate: func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, grpc) }},
		{name: "list shrunk from the front", before: service(nil, grpc, http, grpc),
			mutate: func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[1:] }},
		{name: "list element changed inside", before: service(nil, http, grpc),
			mutate: func(s *corev1.Service) { s.Spec.Ports[1].NodePort = 30001 }},
		{name: "field of a list element removed", before: service(nil, corev1.ServicePort{Name: "h", Port: 80, NodePort: 30000}),
			mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 0 }},
		{name: "object added and removed", before: service(nil, http),
			mutate: func(s *corev1.Service) { s.Labels = map[string]string{"x": "y"}; s.Spec.Ports = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := tt.before.DeepCopy()
			if tt.mutate != nil {
				tt.mutate(after)
			}
			checkPatch(t, tt.before, after)
		})
	}
}

// FuzzCreatePatch edits annotations, labels and ports at random: whatever the
// edit, the patch must turn the old encoding into the new one.
func FuzzCreatePatch(f *testing.F) {
	f.Add("a", "1", "b", "2", uint8(1), uint8(2))
	f.Add("dev.okteto.com/auto-ingress", "true", "x~y/z", "", uint8(0), uint8(3))
	f.Add("", "\"quoted\"\n", "é", "\u2028", uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, portsBefore, portsAfter uint8) {
		ports := func(n uint8) []corev1.ServicePort {
			var ps []corev1.ServicePort
			for i := range int(n % 5) {
				ps = append(ps, corev1.ServicePort{Name: k1, Port: int32(80 + i)})
			}
			return ps
		}
		before := service(map[string]string{k1: v1}, ports(portsBefore)...)
		after := service(map[string]string{k2: v2, k1 + k2: v1}, ports(portsAfter)...)
		after.Labels = map[string]string{k2: v1}
		checkPatch(t, before, after)
	})
}
