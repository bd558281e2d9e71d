package service_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
)

type existing []string

func (e existing) ServiceAccountsWithToken(string) []string { return nil }

func (e existing) NamespaceExists(name string) bool { return slices.Contains(e, name) }

func (e existing) HostsFitting(string) []policies.HostUse { return nil }

// TestEndpointHostOwnership: SPEC 2 and 3, a Service whose endpoint host
// belongs to another namespace is denied the endpoint, naming the owner.
func TestEndpointHostOwnership(t *testing.T) {
	svc := func(name, ns string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{service.AnnotationAutoIngress: "private"}},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		}
	}
	cfg := config.Default()
	t.Run("web-team in a takes team-a's web", func(t *testing.T) {
		errs := service.Validate(svc("web-team", "a"), cfg, existing{"a", "team-a"})
		if len(errs) != 1 || errs[0].Type != field.ErrorTypeInvalid || errs[0].Field != "metadata.name" {
			t.Fatalf("denials = %v", errs)
		}
		for _, want := range []string{`needs the host web-team-a.okteto.example.com, which is not allowed`, `the host belongs to the namespace "team-a"`, `dev.okteto.com/auto-ingress: "false"`} {
			if !strings.Contains(errs[0].Detail, want) {
				t.Errorf("denial %q lacks %q", errs[0].Detail, want)
			}
		}
	})
	t.Run("team-a's own web", func(t *testing.T) {
		if errs := service.Validate(svc("web", "team-a"), cfg, existing{"a", "team-a"}); len(errs) != 0 {
			t.Fatalf("denied: %v", errs)
		}
	})
	t.Run("no team-a", func(t *testing.T) {
		if errs := service.Validate(svc("web-team", "a"), cfg, existing{"a"}); len(errs) != 0 {
			t.Fatalf("denied: %v", errs)
		}
	})
}
