package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// invalid is how kubectl prints the Invalid status devgate's webhooks answer
// with: the object's kind and name, then the causes, one per field.
func invalid(kind, name string) string { return fmt.Sprintf("The %s %q is invalid", kind, name) }

// TestDenialsAreTheAPIServersInvalidStatus: what a client of the API server
// receives for a denied object is an Invalid status as the API server's own
// validation makes it, with a cause per denied field, and a message that
// names the webhook, the object and every denial.
func TestDenialsAreTheAPIServersInvalidStatus(t *testing.T) {
	ns := namespace(t, "status")
	ctx := context.Background()
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns, Annotations: map[string]string{"dev.okteto.com/auto-ingress": "yes"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	_, err := clientset.CoreV1().Services(ns).Create(ctx, svc, dryRun)
	wantInvalid(t, err, `admission webhook "validate.devgate.dev" denied the request: Service "bad" in namespace "`+ns+`" is invalid: `,
		"Service", "bad", metav1.StatusCause{
			Type:    metav1.CauseTypeFieldValueNotSupported,
			Field:   "metadata.annotations[dev.okteto.com/auto-ingress]",
			Message: `Unsupported value: "yes": supported values: "true", "private", "false"`,
		})

	// The caps are checked by /mutate, before any policy works on the object.
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: ns}}
	for i := range 1001 {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: fmt.Sprintf("r%d-%s.okteto.example.com", i, ns)})
	}
	_, err = clientset.NetworkingV1().Ingresses(ns).Create(ctx, ing, dryRun)
	wantInvalid(t, err, `admission webhook "mutate.devgate.dev" denied the request: Ingress "big" in namespace "`+ns+`" is invalid: `,
		"Ingress", "big", metav1.StatusCause{
			Type:    metav1.CauseTypeTooMany,
			Field:   "spec.rules",
			Message: "Too many: 1001: must have at most 1000 items (devgate's cap on Ingress rules; see docs/operations.md, \"Limits\")",
		})

	// kubectl prints the causes, one line each when there are several.
	mustFail(t, externalNameService(ns, "steal", "api.kube-system.svc.cluster.local", "true"), []string{
		invalid("Service", "steal") + ": \n* spec.externalName: Invalid value: ",
		"\n* spec.type: Forbidden: ",
	}, "apply", "--dry-run=server", "-f", "-")
}

func wantInvalid(t *testing.T, err error, messagePrefix, kind, name string, cause metav1.StatusCause) {
	t.Helper()
	var status *apierrors.StatusError
	if !errors.As(err, &status) {
		t.Fatalf("error %v (%T), want an API status", err, err)
	}
	s := status.ErrStatus
	if !apierrors.IsInvalid(err) || s.Code != 422 {
		t.Errorf("reason %q, code %d, want Invalid and 422", s.Reason, s.Code)
	}
	if !strings.HasPrefix(s.Message, messagePrefix) {
		t.Errorf("message %q, want it to begin with %q", s.Message, messagePrefix)
	}
	if s.Details == nil {
		t.Fatal("no details")
	}
	if s.Details.Kind != kind || s.Details.Name != name {
		t.Errorf("details name %s %q, want %s %q", s.Details.Kind, s.Details.Name, kind, name)
	}
	if len(s.Details.Causes) != 1 || s.Details.Causes[0] != cause {
		t.Errorf("causes %+v, want [%+v]", s.Details.Causes, cause)
	}
}
