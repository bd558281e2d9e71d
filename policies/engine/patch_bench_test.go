package engine

import (
	"encoding/json"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkPatch compares the engine's typed patch walker with what it
// replaced: encoding both objects and diffing them with
// gomodules.xyz/jsonpatch's CreatePatch. The objects are what the policies
// do to a Service and an Ingress on every review: a few annotations, a type
// change, a TLS entry.
func BenchmarkPatch(b *testing.B) {
	prefix := networkingv1.PathTypePrefix
	svcBefore := service(map[string]string{"dev.okteto.com/auto-ingress": "private"}, corev1.ServicePort{Name: "http", Port: 80, NodePort: 30080})
	svcAfter := svcBefore.DeepCopy()
	svcAfter.Annotations["devgate.dev/endpoint"] = "https://web-alice.okteto.example.com"
	svcAfter.Spec.Type = corev1.ServiceTypeClusterIP
	svcAfter.Spec.Ports[0].NodePort = 0
	ingBefore := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice", Annotations: map[string]string{"dev.okteto.com/private": "true"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web-alice.okteto.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}}}}},
	}
	ingAfter := ingBefore.DeepCopy()
	ingAfter.Annotations["nginx.ingress.kubernetes.io/auth-url"] = "https://okteto.example.com/auth/verify?namespace=alice"
	ingAfter.Annotations["devgate.dev/endpoints"] = "https://web-alice.okteto.example.com"
	ingAfter.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"web-alice.okteto.example.com"}}}
	for _, c := range []struct {
		name          string
		before, after runtime.Object
	}{{"service", svcBefore, svcAfter}, {"ingress", ingBefore, ingAfter}} {
		b.Run(c.name+"/typed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := createPatch(c.before, c.after); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/jsonpatch.CreatePatch", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				before, _ := json.Marshal(c.before)
				after, _ := json.Marshal(c.after)
				if _, err := jsonpatch.CreatePatch(before, after); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
