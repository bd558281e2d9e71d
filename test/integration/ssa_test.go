package integration

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/internal/controller"
)

// The controller writes with server-side apply under its own field manager
// (SPEC 2): other managers' labels and annotations on the generated Ingress
// stay, devgate's own fields are restored, and a field devgate no longer
// sets goes.
func TestControllerLeavesOtherManagersMetadata(t *testing.T) {
	ns := namespace(t, "ssa")
	mustKubectl(t, service(ns, "web", "private"), "apply", "-f", "-")
	eventually(t, 20*time.Second, func() error {
		_, err := getIngress("web", ns)
		return err
	})
	// A GitOps tool's tracking label and external-dns's annotation, each
	// written by its own manager.
	mustKubectl(t, "", "-n", ns, "label", "ingress", "web", "argocd.argoproj.io/instance=shop")
	mustKubectl(t, "", "-n", ns, "annotate", "ingress", "web", "external-dns.alpha.kubernetes.io/target=lb.example.com")
	// The Service becomes public: devgate rewrites the Ingress.
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	eventually(t, 20*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		if _, private := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; private {
			return fmt.Errorf("still private: %v", ing.Annotations)
		}
		if ing.Labels["argocd.argoproj.io/instance"] != "shop" || ing.Annotations["external-dns.alpha.kubernetes.io/target"] != "lb.example.com" {
			return fmt.Errorf("another manager's metadata was removed: labels %v, annotations %v", ing.Labels, ing.Annotations)
		}
		for _, f := range ing.ManagedFields {
			if f.Manager == controller.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
				return nil
			}
		}
		return fmt.Errorf("no server-side apply by %s: %v", controller.FieldManager, ing.ManagedFields)
	})
	// A manual edit of devgate's own annotation is restored; the others stay.
	mustKubectl(t, "", "-n", ns, "annotate", "ingress", "web", "devgate.dev/endpoints=https://evil.example.org", "--overwrite")
	eventually(t, 20*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		if got := ing.Annotations["devgate.dev/endpoints"]; got != "https://web-"+ns+".okteto.example.com" {
			return fmt.Errorf("devgate.dev/endpoints = %q", got)
		}
		if ing.Labels["argocd.argoproj.io/instance"] != "shop" {
			return fmt.Errorf("labels %v", ing.Labels)
		}
		return nil
	})
}
