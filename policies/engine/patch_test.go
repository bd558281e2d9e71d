package engine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkPatch asserts that createPatch's operations, applied by an independent
// RFC 6902 implementation to before's encoding, give after's encoding.
func checkPatch(t *testing.T, before, after runtime.Object) {
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
	// The reference: gomodules.xyz/jsonpatch's CreatePatch of the two
	// encodings, applied the same way, must give the same document.
	ref, err := jsonpatch.CreatePatch(a, b)
	if err != nil {
		t.Fatalf("jsonpatch.CreatePatch: %v", err)
	}
	refEncoded, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := jsonpatchapply.DecodePatch(refEncoded)
	if err != nil {
		t.Fatalf("decoding the reference %s: %v", refEncoded, err)
	}
	refGot, err := rp.Apply(a)
	if err != nil {
		t.Fatalf("applying the reference %s: %v", refEncoded, err)
	}
	var refV any
	if err := json.Unmarshal(refGot, &refV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, refV) {
		t.Errorf("patch %s and jsonpatch.CreatePatch's %s disagree:\n%s\n%s", encoded, refEncoded, got, refGot)
	}
	if (len(ops) == 0) != (len(ref) == 0) {
		t.Errorf("patch %s is empty where the reference %s is not, or the other way round", encoded, refEncoded)
	}
	if bytes.Equal(a, b) != (len(ops) == 0) {
		t.Errorf("equal encodings must give no operation and different ones some: %s", encoded)
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
		{name: "int-or-string turned from a number into a name (own JSON encoding)", before: service(nil, http),
			mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("web") }},
		{name: "pointer set and a time set (omitzero through IsZero)", before: service(nil, http),
			mutate: func(s *corev1.Service) {
				local := corev1.ServiceInternalTrafficPolicyLocal
				s.Spec.InternalTrafficPolicy = &local
				s.CreationTimestamp = metav1.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			}},
		{name: "list of structs added to an object (owner references)", before: service(nil, http),
			mutate: func(s *corev1.Service) {
				s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "c", UID: types.UID("u")}}
			}},
		{name: "empty lists are omitted as nil ones are: no operation", before: service(nil),
			mutate: func(s *corev1.Service) {
				s.Spec.IPFamilies = []corev1.IPFamily{}
				s.Spec.Ports = []corev1.ServicePort{}
			}},
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

// TestCreatePatchOtherKinds covers the shapes Services do not have: Ingress
// rules and TLS (lists of structs inside pointers), and Secret data (a map
// of byte strings, compared by its encoding).
func TestCreatePatchOtherKinds(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	exact := networkingv1.PathTypeExact
	ingress := func() *networkingv1.Ingress {
		return &networkingv1.Ingress{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice", Annotations: map[string]string{"dev.okteto.com/generate-host": "true"}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
			}}}},
		}
	}
	secret := func() *corev1.Secret {
		return &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "alice"},
			Type:       "devgate.dev/token",
			Data:       map[string][]byte{"token": []byte("x"), "ttl": nil},
		}
	}
	tests := []struct {
		name   string
		before runtime.Object
		mutate func(runtime.Object)
	}{
		{"ingress: host, TLS and annotations generated", ingress(), func(o runtime.Object) {
			ing := o.(*networkingv1.Ingress)
			ing.Spec.Rules[0].Host = "web-alice.example.com"
			ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"web-alice.example.com"}, SecretName: "web-tls"}}
			ing.Annotations["devgate.dev/endpoints"] = "https://web-alice.example.com"
		}},
		{"ingress: path type and backend changed deep inside", ingress(), func(o runtime.Object) {
			p := &o.(*networkingv1.Ingress).Spec.Rules[0].HTTP.Paths[0]
			p.PathType = &exact
			p.Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http"}
		}},
		{"ingress: rule replaced by two, class set", ingress(), func(o runtime.Object) {
			ing := o.(*networkingv1.Ingress)
			class := "nginx"
			ing.Spec.IngressClassName = &class
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: "b.example.com"})
			ing.Spec.Rules[0].HTTP = nil
		}},
		{"secret: data value filled in and added", secret(), func(o runtime.Object) {
			s := o.(*corev1.Secret)
			s.Data["ttl"] = []byte("86400000")
			s.Data["user-id"] = []byte("alice")
		}},
		{"secret: unchanged", secret(), func(runtime.Object) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := tt.before.DeepCopyObject()
			tt.mutate(after)
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

// FuzzCreatePatchIngress edits an Ingress's rules, TLS and pointers at
// random: lists of structs inside pointers, nil and empty on either side.
func FuzzCreatePatchIngress(f *testing.F) {
	f.Add("web-alice.example.com", "nginx", uint8(1), uint8(2), uint8(0b1010))
	f.Add("", "", uint8(0), uint8(3), uint8(0b0101))
	f.Add("a~b/c", "\xff", uint8(4), uint8(0), uint8(0xff))
	f.Fuzz(func(t *testing.T, host, class string, rulesBefore, rulesAfter, flags uint8) {
		build := func(n uint8, flags uint8) *networkingv1.Ingress {
			ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice"}}
			for i := range int(n % 4) {
				r := networkingv1.IngressRule{Host: host}
				if flags&(1<<i) != 0 {
					prefix := networkingv1.PathTypePrefix
					r.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/" + class, PathType: &prefix}}}
				}
				ing.Spec.Rules = append(ing.Spec.Rules, r)
			}
			if flags&0x10 != 0 {
				ing.Spec.IngressClassName = &class
			}
			switch {
			case flags&0x20 != 0:
				ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host, class}}}
			case flags&0x40 != 0:
				ing.Spec.TLS = []networkingv1.IngressTLS{}
			}
			return ing
		}
		checkPatch(t, build(rulesBefore, flags), build(rulesAfter, flags^0b1110101))
	})
}
