// Package objects generates the mixed workload every devgate benchmark uses:
// Services with auto-ingress (public and private), private and public Ingresses
// with generated hosts, token Secrets and ServiceAccounts with token labels, in
// equal parts. The webhook benchmarks wrap them in AdmissionReviews, the CLI
// comparison writes them as one YAML stream, so every figure measures the same
// objects.
package objects

import (
	"bytes"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Kinds of the mix, in the order Object cycles through them.
var Kinds = []string{"Service", "Ingress", "Secret", "ServiceAccount"}

// Requester is who sends every object: a token issuer in the admin group, so
// token Secrets and labelled ServiceAccounts are admitted rather than denied.
var Requester = authenticationv1.UserInfo{Username: "token-issuer", Groups: []string{"system:masters", "system:authenticated"}}

// Object returns the i-th object of the mix: kind Kinds[i%4], in one of 50
// namespaces, with names, tokens and labels unique to i.
func Object(i int) runtime.Object {
	ns := fmt.Sprintf("team-%d", i%50)
	switch i % 4 {
	case 0:
		mode := []string{"true", "private"}[i/4%2]
		return &corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: ns,
				Labels:      map[string]string{"app": "web"},
				Annotations: map[string]string{"dev.okteto.com/auto-ingress": mode}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{
					{Name: "grpc", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)},
					{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)},
				},
			},
		}
	case 1:
		prefix := networkingv1.PathTypePrefix
		return &networkingv1.Ingress{
			TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ing-%d", i), Namespace: ns,
				Annotations: map[string]string{
					"dev.okteto.com/generate-host": "true",
					"dev.okteto.com/private":       fmt.Sprint(i/4%2 == 0),
				}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "svc", Port: networkingv1.ServiceBackendPort{Number: 8080}}}}},
				}},
			}}},
		}
	case 2:
		// Data, not stringData: the API server has folded stringData into
		// data before any webhook sees the object.
		return &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("token-%d", i), Namespace: ns},
			Type:       "devgate.dev/token",
			Data: map[string][]byte{
				"token":       fmt.Appendf(nil, "Zq3vT8pL0mX5rW2k-%d", i),
				"user-id":     []byte("devgate-cli"),
				"ttl":         []byte("86400000"),
				"description": []byte("CI token"),
			},
		}
	default:
		return &corev1.ServiceAccount{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%d", i), Namespace: ns,
				Labels: map[string]string{
					"dev.okteto.com/token":       fmt.Sprintf("Hj4kLm9Np2Qr5St8-%d", i),
					"dev.okteto.com/external-id": fmt.Sprintf("user-%d", i),
				}},
		}
	}
}

// YAML returns objects 0..n-1 as one multi-document YAML stream.
func YAML(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		doc, err := yaml.Marshal(Object(i))
		if err != nil {
			panic(err) // the objects are built above; failing to marshal one is a bug
		}
		b.WriteString("---\n")
		b.Write(doc)
	}
	return b.Bytes()
}

var resources = map[string]metav1.GroupVersionResource{
	"Service":        {Version: "v1", Resource: "services"},
	"Secret":         {Version: "v1", Resource: "secrets"},
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Ingress":        {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// Review returns the CREATE AdmissionReview of object i, encoded as the API
// server sends it.
func Review(i int) []byte { return ReviewOf(i, Object(i)) }

// Raw is obj in JSON, as an AdmissionReview carries it.
func Raw(obj runtime.Object) []byte {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err) // the objects are built here; failing to marshal one is a bug
	}
	return raw
}

// ReviewOf returns the i-th CREATE AdmissionReview with obj as its object:
// the validating webhook gets the object the mutating one returned.
func ReviewOf(i int, obj runtime.Object) []byte {
	raw := Raw(obj)
	meta := obj.(metav1.Object)
	gvk := obj.GetObjectKind().GroupVersionKind()
	gvr := resources[gvk.Kind]
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i)),
			Kind:      metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
			Resource:  gvr,
			Name:      meta.GetName(),
			Namespace: meta.GetNamespace(),
			Operation: admissionv1.Create,
			UserInfo:  Requester,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		panic(err)
	}
	return body
}
