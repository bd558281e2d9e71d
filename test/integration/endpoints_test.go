package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/webhook"
)

func service(ns, name, autoIngress string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations:
    dev.okteto.com/auto-ingress: %q
spec:
  selector: {app: %[1]s}
  ports:
  - {name: http, port: 8080}
`, name, ns, autoIngress)
}

func getIngress(name, ns string) (*networkingv1.Ingress, error) {
	return clientset.NetworkingV1().Ingresses(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func TestApplyReachesTheWebhook(t *testing.T) {
	ns := namespace(t, "reach")
	before := webhook.ReviewsServed()
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	if webhook.ReviewsServed() <= before {
		t.Fatal("kubectl apply did not reach the webhook")
	}
	got := mustKubectl(t, "", "-n", ns, "get", "service", "web", "-o", "jsonpath={.metadata.annotations.devgate\\.dev/endpoint}")
	if got != "https://web-reach.okteto.example.com" {
		t.Fatalf("endpoint annotation = %q", got)
	}
}

func TestServerSideDryRunShowsMutationAndCreatesNothing(t *testing.T) {
	ns := namespace(t, "dryrun")
	out := mustKubectl(t, service(ns, "web", "private"), "apply", "--dry-run=server", "-o", "yaml", "-f", "-")
	if !strings.Contains(out, "devgate.dev/endpoint: https://web-dryrun.okteto.example.com") {
		t.Fatalf("dry run does not show the mutation:\n%s", out)
	}
	if _, err := clientset.CoreV1().Services(ns).Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run created the Service: %v", err)
	}
	// Give the controller the time it takes to act on a real Service: nothing
	// may appear.
	time.Sleep(time.Second)
	if _, err := getIngress("web", ns); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run created an Ingress: %v", err)
	}
}

func TestInvalidAutoIngressIsDeniedWithTheValidValues(t *testing.T) {
	ns := namespace(t, "denied")
	mustFail(t, service(ns, "web", "yes"), []string{
		invalid("Service", "web"),
		`metadata.annotations[dev.okteto.com/auto-ingress]: Unsupported value: "yes": supported values: "true", "private", "false"`,
	}, "apply", "-f", "-")
}

func TestHostLabelLimitThroughTheAPIServer(t *testing.T) {
	ns := namespace(t, "limit")
	// "limit" plus "-" is 6 characters: a 57-character name makes a 63-character label.
	ok := strings.Repeat("a", 57)
	mustKubectl(t, service(ns, ok, "true"), "apply", "--dry-run=server", "-f", "-")
	mustFail(t, service(ns, ok+"b", "true"), []string{"64"}, "apply", "--dry-run=server", "-f", "-")
}

func TestControllerFollowsTheService(t *testing.T) {
	ns := namespace(t, "follow")
	mustKubectl(t, service(ns, "api", "private"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error {
		ing, err := getIngress("api", ns)
		if err != nil {
			return err
		}
		if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; got != "https://okteto.example.com/auth/verify?namespace=follow" {
			return fmt.Errorf("auth-url = %q", got)
		}
		if ing.Spec.Rules[0].Host != "api-follow.okteto.example.com" || ing.Labels["app.kubernetes.io/managed-by"] != "devgate" {
			return fmt.Errorf("ingress = %+v", ing)
		}
		return nil
	})

	// Public now: the auth annotations go.
	mustKubectl(t, service(ns, "api", "true"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error {
		ing, err := getIngress("api", ns)
		if err != nil {
			return err
		}
		if _, private := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; private {
			return fmt.Errorf("still private: %v", ing.Annotations)
		}
		return nil
	})

	// A manual edit of the generated Ingress is restored.
	mustKubectl(t, "", "-n", ns, "patch", "ingress", "api", "--type=json",
		"-p", `[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/admin"}]`)
	eventually(t, 10*time.Second, func() error {
		ing, err := getIngress("api", ns)
		if err != nil {
			return err
		}
		if p := ing.Spec.Rules[0].HTTP.Paths[0].Path; p != "/" {
			return fmt.Errorf("path = %q, not restored", p)
		}
		return nil
	})

	// Without the annotation the endpoint goes.
	mustKubectl(t, "", "-n", ns, "annotate", "service", "api", "dev.okteto.com/auto-ingress-")
	eventually(t, 10*time.Second, func() error {
		if _, err := getIngress("api", ns); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ingress still there: %v", err)
		}
		return nil
	})

	events := mustKubectl(t, "", "-n", ns, "get", "events", "--field-selector", "involvedObject.name=api", "-o", "jsonpath={range .items[*]}{.reason} {end}")
	for _, reason := range []string{"EndpointCreated", "EndpointUpdated", "EndpointRemoved"} {
		if !strings.Contains(events, reason) {
			t.Errorf("no %s event on the Service: %s", reason, events)
		}
	}
}

func TestDeletingTheServiceGarbageCollectsTheIngress(t *testing.T) {
	ns := namespace(t, "gc")
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error { _, err := getIngress("web", ns); return err })
	mustKubectl(t, "", "-n", ns, "delete", "service", "web")
	// kube-controller-manager's garbage collector removes the owned Ingress.
	eventually(t, 30*time.Second, func() error {
		if _, err := getIngress("web", ns); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ingress still there: %v", err)
		}
		return nil
	})
}

func TestForeignIngressIsNeverTouched(t *testing.T) {
	ns := namespace(t, "foreign")
	mustKubectl(t, fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: %[1]s}
spec:
  rules:
  - host: mine-%[1]s.okteto.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}
`, ns), "apply", "-f", "-")
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error {
		reasons := mustKubectl(t, "", "-n", ns, "get", "events", "--field-selector", "involvedObject.name=web,involvedObject.kind=Service", "-o", "jsonpath={range .items[*]}{.type}/{.reason} {end}")
		if !strings.Contains(reasons, "Warning/IngressConflict") {
			return fmt.Errorf("events: %s", reasons)
		}
		return nil
	})
	ing, err := getIngress("web", ns)
	if err != nil {
		t.Fatal(err)
	}
	if ing.Spec.Rules[0].Host != "mine-foreign.okteto.example.com" || len(ing.OwnerReferences) != 0 {
		t.Fatalf("foreign Ingress was changed: %+v", ing)
	}
}

func TestIngressFromCheckOutputIsAdopted(t *testing.T) {
	ns := namespace(t, "adopt")
	// What `devgate check -o yaml` prints for a Service without a uid: the
	// Ingress with the managed-by label and no owner.
	mustKubectl(t, fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: %[1]s
  labels: {app.kubernetes.io/managed-by: devgate}
spec:
  ingressClassName: nginx
  rules:
  - host: web-%[1]s.okteto.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
`, ns), "apply", "-f", "-")
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		if ref := metav1.GetControllerOf(ing); ref == nil || ref.Name != "web" || ref.Kind != "Service" {
			return fmt.Errorf("not adopted: %+v", ing.OwnerReferences)
		}
		return nil
	})
}

func TestIngressPolicyThroughTheAPIServer(t *testing.T) {
	ns := namespace(t, "ing")
	ingress := func(annotations, host string) string {
		return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: docs
  namespace: %s
  annotations: {%s}
spec:
  rules:
  - host: %q
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: docs, port: {number: 80}}}}
`, ns, annotations, host)
	}
	out := mustKubectl(t, ingress(`dev.okteto.com/generate-host: "api"`, ""), "apply", "--dry-run=server", "-o", "jsonpath={.spec.rules[0].host} {.spec.tls[0].hosts[0]} {.metadata.annotations.devgate\\.dev/endpoints}", "-f", "-")
	if want := "api-ing.okteto.example.com api-ing.okteto.example.com https://api-ing.okteto.example.com"; out != want {
		t.Fatalf("generate-host: got %q, want %q", out, want)
	}
	mustFail(t, ingress("", "shop-other.okteto.example.com"), []string{"spec.rules[0].host", "shop-other.okteto.example.com"}, "apply", "-f", "-")
	mustFail(t, ingress("", "*.okteto.example.com"), []string{"spec.rules[0].host"}, "apply", "-f", "-")
	mustFail(t, ingress(`nginx.ingress.kubernetes.io/configuration-snippet: "return 200;"`, "docs-ing.okteto.example.com"),
		[]string{"nginx.ingress.kubernetes.io/configuration-snippet"}, "apply", "-f", "-")
	mustFail(t, ingress(`dev.okteto.com/private: "true", nginx.ingress.kubernetes.io/satisfy: any`, "docs-ing.okteto.example.com"),
		[]string{"nginx.ingress.kubernetes.io/satisfy"}, "apply", "-f", "-")
	out = mustKubectl(t, ingress(`dev.okteto.com/private: "true"`, "docs-ing.okteto.example.com"), "apply", "-o", "jsonpath={.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-url}", "-f", "-")
	if out != "https://okteto.example.com/auth/verify?namespace=ing" {
		t.Fatalf("auth-url = %q", out)
	}
	// Applying the same manifest again changes nothing: the mutation is idempotent.
	out = mustKubectl(t, ingress(`dev.okteto.com/private: "true"`, "docs-ing.okteto.example.com"), "apply", "-f", "-")
	if !strings.Contains(out, "unchanged") {
		t.Fatalf("second apply changed the Ingress: %s", out)
	}
}

func TestLoadBalancerServiceIsConverted(t *testing.T) {
	ns := namespace(t, "lb")
	out := mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: shop, namespace: %s}
spec:
  type: LoadBalancer
  ports:
  - {port: 80, targetPort: 8080}
`, ns), "apply", "-o", "jsonpath={.spec.type} {.metadata.annotations.devgate\\.dev/endpoint}", "-f", "-")
	if out != "ClusterIP https://shop-lb.okteto.example.com" {
		t.Fatalf("got %q", out)
	}
	eventually(t, 10*time.Second, func() error { _, err := getIngress("shop", ns); return err })
}
