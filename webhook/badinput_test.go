package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
)

// realServer serves the real policies with the default configuration.
func realServer(mutating bool) *Server {
	name := "validate"
	if mutating {
		name = "mutate"
	}
	return &Server{Name: name, Handler: &Handler{Engine: all.Engine(), Config: configsource.Static(config.Default()), Mutating: mutating}}
}

var (
	ingressKind = metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	secretKindM = metav1.GroupVersionKind{Version: "v1", Kind: "Secret"}
)

func ingressWithHost(host string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice"},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host}}},
	}
}

// TestOddInputsAreDeniedNamingTheField sends what a careless or hostile
// client might write, through the HTTP layer and the real policies: each is
// denied by /validate with the field named, and nothing crashes.
func TestOddInputsAreDeniedNamingTheField(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	cases := []struct {
		name  string
		kind  metav1.GroupVersionKind
		obj   runtime.Object
		field string
	}{
		{"upper-case host", ingressKind, ingressWithHost("Web-alice.okteto.example.com"), "spec.rules[0].host"},
		{"IDN host", ingressKind, ingressWithHost("wéb-alice.okteto.example.com"), "spec.rules[0].host"},
		{"invalid punycode host", ingressKind, ingressWithHost("xn--abc-alice.okteto.example.com"), "spec.rules[0].host"},
		{"trailing dot", ingressKind, ingressWithHost("web-alice.okteto.example.com."), "spec.rules[0].host"},
		{"64 KiB auto-ingress value", serviceKind, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"dev.okteto.com/auto-ingress": long}},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		}, "metadata.annotations[dev.okteto.com/auto-ingress]"},
		{"64 KiB nginx annotation with a semicolon", ingressKind, &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"nginx.ingress.kubernetes.io/rewrite-target": long + ";"}},
			Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web-alice.okteto.example.com"}}},
		}, "metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := decodeResponse(t, post(realServer(false), review(t, admissionv1.Create, tc.kind, tc.obj), "application/json"))
			if resp.Allowed {
				t.Fatal("allowed")
			}
			if msg := resp.Result.Message; !strings.Contains(msg, tc.field) {
				t.Fatalf("denial does not name %s: %.300s", tc.field, msg)
			}
			// A long value is shown cut, with its length: the reason stays readable.
			if len(resp.Result.Message) > 4<<10 {
				t.Fatalf("denial of %d bytes", len(resp.Result.Message))
			}
		})
	}
}

// TestLongAnnotationIsAdmitted: a 64 KiB value devgate has no rule for is an
// ordinary annotation, mutated and admitted like any other.
func TestLongAnnotationIsAdmitted(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{
			"dev.okteto.com/auto-ingress": "true", "example.org/notes": strings.Repeat("y", 64<<10)}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
	for _, mutating := range []bool{true, false} {
		resp := decodeResponse(t, post(realServer(mutating), review(t, admissionv1.Create, serviceKind, svc), "application/json"))
		if !resp.Allowed {
			t.Fatalf("mutating=%v: denied: %s", mutating, resp.Result.Message)
		}
	}
}

// TestSecretWithNonBase64DataIsBadRequest: the API server decodes Secret data
// before admission, so data that is not base64 can only come from a broken
// client; the answer names the key and never echoes the value.
func TestSecretWithNonBase64DataIsBadRequest(t *testing.T) {
	const value = "not-base64-Zq9#token!"
	for _, data := range []string{`{"token":"` + value + `"}`, `{"token":12345}`} {
		body := review(t, admissionv1.Create, secretKindM, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tok"}, Type: "devgate.dev/token"})
		var r map[string]any
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		r["request"].(map[string]any)["object"].(map[string]any)["data"] = json.RawMessage(data)
		body, _ = json.Marshal(r)
		for _, mutating := range []bool{true, false} {
			rec := post(realServer(mutating), body, "application/json")
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "request.object.data[token] is not a base64 string") {
				t.Fatalf("%s: status %d: %s", data, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), value) {
				t.Fatalf("the answer echoes the value: %s", rec.Body)
			}
		}
	}
}
