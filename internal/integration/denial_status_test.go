package integration

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A denial reaches clients as the API server's own status for an invalid
// object: reason Invalid, code 422, and one cause per denied field, which
// tools read without parsing the message.
func TestDenialIsAStatusWithCauses(t *testing.T) {
	ns := namespace(t, "status")
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Annotations: map[string]string{"dev.okteto.com/auto-ingress": "yes"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}, ExternalIPs: []string{"10.0.0.1"}},
	}
	_, err := clientset.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{})
	var status *apierrors.StatusError
	if !errors.As(err, &status) {
		t.Fatalf("create: %v, want a status error", err)
	}
	s := status.ErrStatus
	if s.Reason != metav1.StatusReasonInvalid || s.Code != 422 || !strings.Contains(s.Message, `admission webhook "validate.devgate.dev" denied the request`) {
		t.Fatalf("status %s %d %q", s.Reason, s.Code, s.Message)
	}
	if s.Details == nil || s.Details.Kind != "Service" || s.Details.Name != "web" {
		t.Fatalf("details %+v", s.Details)
	}
	got := map[string]metav1.CauseType{}
	for _, c := range s.Details.Causes {
		got[c.Field] = c.Type
	}
	want := map[string]metav1.CauseType{
		"spec.externalIPs": metav1.CauseTypeForbidden,
		"metadata.annotations[dev.okteto.com/auto-ingress]": metav1.CauseTypeFieldValueNotSupported,
	}
	for f, typ := range want {
		if got[f] != typ {
			t.Errorf("cause for %s = %q, want %q (causes %+v)", f, got[f], typ, s.Details.Causes)
		}
	}
}
