package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Services in managed namespaces cannot reach past their namespace (SPEC 2),
// shown through the real API server with a tenant's own credentials: alice is
// an editor of the namespace and nothing more.

func externalNameService(ns, name, target, autoIngress string) string {
	annotations := ""
	if autoIngress != "" {
		annotations = fmt.Sprintf("\n  annotations: {dev.okteto.com/auto-ingress: %q}", autoIngress)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s%s
spec:
  type: ExternalName
  externalName: %s
  ports: [{name: http, port: 80}]
`, name, ns, annotations, target)
}

func mustNotExist(t *testing.T, ns, name string) {
	t.Helper()
	if _, err := clientset.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Service %s/%s was stored: %v", ns, name, err)
	}
}

func TestIsolationExternalName(t *testing.T) {
	ns := namespace(t, "iso-extname")
	other := namespace(t, "iso-victim")
	as := []string{"apply", "-f", "-", "--as", "alice"}

	// The attack: another namespace's private Service behind a public endpoint.
	target := "api." + other + ".svc.cluster.local"
	mustFail(t, externalNameService(ns, "steal", target, "true"), []string{
		invalid("Service", "steal"),
		`spec.externalName: Invalid value: "` + target + `": externalName ` + target + ` is inside the cluster domain: it would publish another namespace's or the platform's Service under the tenant's host`,
		`spec.type: Forbidden: dev.okteto.com/auto-ingress: "true" asks for an endpoint, but ExternalName Services never get one`,
	}, as...)
	mustNotExist(t, ns, "steal")

	// Without any annotation too: the matchCondition sends every ExternalName
	// Service to /validate.
	for _, c := range []struct{ target, reason string }{
		{"169.254.169.254", "is an IP address"},
		{"kubernetes.default.svc", "names the Kubernetes API server's Service"},
		{target, "is inside the cluster domain"},
		// Resolved through the ingress controller's DNS search path.
		{"api." + other, `ends with the namespace "` + other + `": the cluster's DNS search path resolves it`},
	} {
		mustFail(t, externalNameService(ns, "alias", c.target, ""), []string{
			invalid("Service", "alias"), `spec.externalName: Invalid value: "` + c.target + `"`, c.reason,
		}, as...)
		mustNotExist(t, ns, "alias")
	}

	// An external host without an endpoint is an ordinary alias: admitted,
	// with no endpoint and no Ingress.
	mustKubectl(t, externalNameService(ns, "docs", "example.com", ""), as...)
	s, err := clientset.CoreV1().Services(ns).Get(context.Background(), "docs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName || s.Spec.ExternalName != "example.com" || s.Annotations["devgate.dev/endpoint"] != "" {
		t.Fatalf("admitted ExternalName Service: type %s, externalName %s, annotations %v", s.Spec.Type, s.Spec.ExternalName, s.Annotations)
	}
	// Turning it into an alias of the platform's API is denied on UPDATE.
	mustFail(t, "", []string{invalid("Service", "docs"), "names the Kubernetes API server's Service"},
		"-n", ns, "patch", "service", "docs", "--type=merge", "-p", `{"spec":{"externalName":"kubernetes.default.svc.cluster.local"}}`, "--as", "alice")
	// So is asking for an endpoint for it.
	mustFail(t, "", []string{invalid("Service", "docs"), "ExternalName Services never get one"},
		"-n", ns, "annotate", "service", "docs", "dev.okteto.com/auto-ingress=private", "--as", "alice")
	time.Sleep(time.Second) // the time the controller takes to act on a Service
	if _, err := getIngress("docs", ns); !apierrors.IsNotFound(err) {
		t.Fatalf("an ExternalName Service got an Ingress: %v", err)
	}
}

func TestIsolationExternalIPs(t *testing.T) {
	ns := namespace(t, "iso-extip")
	as := []string{"apply", "-f", "-", "--as", "alice"}
	for _, c := range []struct{ name, spec string }{
		{"plain", "ports: [{name: http, port: 80}]"},
		{"endpoint", "ports: [{name: http, port: 80}]"},
		// A LoadBalancer is converted to ClusterIP by /mutate; its
		// externalIPs are not carried through: the converted Service is denied.
		{"lb", "type: LoadBalancer\n  ports: [{name: http, port: 80}]"},
		{"np", "type: NodePort\n  ports: [{name: http, port: 80}]"},
	} {
		annotations := ""
		if c.name == "endpoint" {
			annotations = "\n  annotations: {dev.okteto.com/auto-ingress: \"true\"}"
		}
		mustFail(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s%s
spec:
  %s
  externalIPs: [10.0.0.10]
`, c.name, ns, annotations, c.spec), []string{
			invalid("Service", c.name),
			"spec.externalIPs: Forbidden: externalIPs 10.0.0.10 would make kube-proxy on every node capture the traffic to those addresses",
			"(CVE-2020-8554)",
		}, as...)
		mustNotExist(t, ns, c.name)
	}
	// Added to a stored Service, on UPDATE.
	mustKubectl(t, service(ns, "web", "false"), as...)
	mustFail(t, "", []string{invalid("Service", "web"), "spec.externalIPs: Forbidden", "(CVE-2020-8554)"},
		"-n", ns, "patch", "service", "web", "--type=merge", "-p", `{"spec":{"externalIPs":["10.0.0.10"]}}`, "--as", "alice")
}

// TestEndpointBackendByPortNumber: `kubectl create service` names its port
// "80-8080", which is no valid Ingress port name; the generated Ingress names
// the backend port by number.
func TestEndpointBackendByPortNumber(t *testing.T) {
	ns := namespace(t, "iso-port")
	mustKubectl(t, "", "-n", ns, "create", "service", "clusterip", "web", "--tcp=80:8080", "--as", "alice")
	mustKubectl(t, "", "-n", ns, "annotate", "service", "web", "dev.okteto.com/auto-ingress=private", "--as", "alice")
	eventually(t, 30*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		port := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port
		if port.Number != 80 || port.Name != "" {
			return fmt.Errorf("backend port %+v, want number 80", port)
		}
		return nil
	})
}

// TestEndpointWriteFailureWarns: an Ingress write the API server refuses (here
// a ResourceQuota allowing no Ingress) shows on the Service as a Warning Event
// naming the API server's error, and the write is retried until it works.
func TestEndpointWriteFailureWarns(t *testing.T) {
	ns := namespace(t, "iso-quota")
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: ResourceQuota
metadata: {name: no-ingress, namespace: %s}
spec:
  hard: {count/ingresses.networking.k8s.io: "0"}
`, ns), "apply", "-f", "-")
	// No quota controller runs: the status it would compute is set by hand, so
	// that the quota admission plugin reports the quota as exceeded.
	mustKubectl(t, "", "-n", ns, "patch", "resourcequota", "no-ingress", "--subresource=status", "--type=merge", "-p",
		`{"status":{"hard":{"count/ingresses.networking.k8s.io":"0"},"used":{"count/ingresses.networking.k8s.io":"0"}}}`)
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-", "--as", "alice")
	eventually(t, 30*time.Second, func() error {
		out := mustKubectl(t, "", "-n", ns, "get", "events", "--field-selector", "involvedObject.name=web,involvedObject.kind=Service",
			"-o", "jsonpath={range .items[*]}{.type}/{.reason}: {.message}{\"\\n\"}{end}")
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "Warning/EndpointFailed: cannot create Ingress web: ") &&
				strings.Contains(line, `ingresses.networking.k8s.io "web" is forbidden`) && strings.Contains(line, "quota: no-ingress") {
				return nil
			}
		}
		return fmt.Errorf("no Warning EndpointFailed naming the quota; events:\n%s", out)
	})
	if _, err := getIngress("web", ns); !apierrors.IsNotFound(err) {
		t.Fatalf("Ingress created despite the quota: %v", err)
	}
	mustKubectl(t, "", "-n", ns, "delete", "resourcequota", "no-ingress")
	eventually(t, 60*time.Second, func() error { _, err := getIngress("web", ns); return err })
}
