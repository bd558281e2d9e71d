package gatewayapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/internal/controller"
)

func service(ns, name, autoIngress string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations: {dev.okteto.com/auto-ingress: %q}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, ns, autoIngress)
}

func route(ns, name, extra string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %s
  namespace: %s
%s`, name, ns, extra)
}

// TestServiceGetsAnHTTPRoute: SPEC 10, a Service's endpoint is an HTTPRoute
// on the platform's Gateway, and a private one carries the ExternalAuth
// filter, which the ReferenceGrant lets reach the auth Service.
func TestServiceGetsAnHTTPRoute(t *testing.T) {
	ns := namespace(t, "routes-svc")
	mustKubectl(t, service(ns, "web", "true"), "apply", "--as", "alice", "-f", "-")
	var r *gatewayv1.HTTPRoute
	eventually(t, 20*time.Second, func() (err error) { r, err = getRoute(t, ns, "web"); return err })
	host := "web-" + ns + ".okteto.example.com"
	if !slices.Equal(r.Spec.Hostnames, []gatewayv1.Hostname{gatewayv1.Hostname(host)}) {
		t.Errorf("hostnames %v", r.Spec.Hostnames)
	}
	if len(r.Spec.ParentRefs) != 1 || r.Spec.ParentRefs[0].Name != "public" || *r.Spec.ParentRefs[0].Namespace != "gateways" {
		t.Errorf("parentRefs %+v", r.Spec.ParentRefs)
	}
	if ref := metav1.GetControllerOf(r); ref == nil || ref.Kind != "Service" || ref.Name != "web" {
		t.Errorf("owner %+v", r.OwnerReferences)
	}
	if r.Annotations["devgate.dev/endpoints"] != "https://"+host || len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].Filters) != 0 {
		t.Errorf("public route: annotations %v, rules %+v", r.Annotations, r.Spec.Rules)
	}
	// No private route yet: the grant does not name the namespace.
	if from := grantedNamespaces(t); slices.Contains(from, ns) {
		t.Errorf("the ReferenceGrant names %s without a private route: %v", ns, from)
	}

	// Private: the filter on the rule, the grant for this namespace.
	// (Other tests' private routes may be in the grant too.)
	mustKubectl(t, "", "-n", ns, "annotate", "service", "web", "dev.okteto.com/auto-ingress=private", "--overwrite", "--as", "alice")
	eventually(t, 20*time.Second, func() error {
		r, err := getRoute(t, ns, "web")
		if err != nil {
			return err
		}
		if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].Filters) != 1 || r.Spec.Rules[0].Filters[0].Type != "ExternalAuth" {
			return fmt.Errorf("rules %+v", r.Spec.Rules)
		}
		if p := r.Spec.Rules[0].Filters[0].ExternalAuth.HTTPAuthConfig.Path; p != "/auth/verify/"+ns {
			return fmt.Errorf("filter path %q", p)
		}
		return nil
	})
	eventually(t, 20*time.Second, func() error {
		var g gatewayv1.ReferenceGrant
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "devgate", Name: controller.ReferenceGrantName}, &g); err != nil {
			return err
		}
		if !slices.Contains(grantedNamespaces(t), ns) || g.Spec.From[0].Kind != "HTTPRoute" {
			return fmt.Errorf("grant from %+v", g.Spec.From)
		}
		if len(g.Spec.To) != 1 || g.Spec.To[0].Kind != "Service" || string(*g.Spec.To[0].Name) != "devgate-auth" {
			return fmt.Errorf("grant to %+v", g.Spec.To)
		}
		return nil
	})

	// A tenant cannot point the filter at another namespace's decision...
	mustFail(t, "", []string{`The HTTPRoute "web" is invalid`, "spec.rules[0].filters[0]"},
		"-n", ns, "patch", "httproute", "web", "--type=json", "--as", "alice",
		"-p", `[{"op":"replace","path":"/spec/rules/0/filters/0/externalAuth/http/path","value":"/auth/verify/routes-other"}]`)
	// ...nor remove it: the mutating webhook puts it back.
	mustKubectl(t, "", "-n", ns, "patch", "httproute", "web", "--type=json", "--as", "alice",
		"-p", `[{"op":"remove","path":"/spec/rules/0/filters"}]`)
	if r, err := getRoute(t, ns, "web"); err != nil || len(r.Spec.Rules[0].Filters) != 1 || r.Spec.Rules[0].Filters[0].ExternalAuth == nil {
		t.Fatalf("after removing the filter: %v, rules %+v", err, r.Spec.Rules)
	}

	// Public again: the filter goes, and so does the namespace from the
	// grant (the grant itself when no private route is left).
	mustKubectl(t, "", "-n", ns, "annotate", "service", "web", "dev.okteto.com/auto-ingress=true", "--overwrite", "--as", "alice")
	eventually(t, 20*time.Second, func() error {
		if from := grantedNamespaces(t); slices.Contains(from, ns) {
			return fmt.Errorf("the grant still names %s: %v", ns, from)
		}
		return nil
	})
	// The annotation removed: the HTTPRoute goes.
	mustKubectl(t, "", "-n", ns, "annotate", "service", "web", "dev.okteto.com/auto-ingress-", "--as", "alice")
	eventually(t, 20*time.Second, func() error {
		if _, err := getRoute(t, ns, "web"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("route still there: %v", err)
		}
		return nil
	})
}

// TestTenantHTTPRoutes: a tenant's HTTPRoute gets its host and the
// platform's Gateway, and cannot take another namespace's host, attach to
// another Gateway or drop the filter of a private route.
func TestTenantHTTPRoutes(t *testing.T) {
	ns := namespace(t, "routes-tenant")
	other := namespace(t, "routes-other")
	as := []string{"apply", "--as", "alice", "-f", "-"}
	backend := "spec:\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n"

	// Okteto's HTTPRoute mode: no hostnames, no parentRefs.
	out := mustKubectl(t, route(ns, "app", backend), "apply", "--as", "alice", "--dry-run=server", "-o", "jsonpath={.spec.hostnames[0]} {.spec.parentRefs[0].namespace}/{.spec.parentRefs[0].name} {.metadata.annotations.devgate\\.dev/endpoints}", "-f", "-")
	if want := "app-" + ns + ".okteto.example.com gateways/public https://app-" + ns + ".okteto.example.com"; out != want {
		t.Errorf("mutated route: %q, want %q", out, want)
	}

	// Another namespace's host.
	mustFail(t, route(ns, "steal", "spec:\n  hostnames: [web-"+other+".okteto.example.com]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n"),
		[]string{`The HTTPRoute "steal" is invalid`, "spec.hostnames[0]", "web-" + other + ".okteto.example.com"}, as...)
	// The auth Service, which devgate's ReferenceGrant lets routes name,
	// served under the tenant's own host.
	mustFail(t, route(ns, "front", "spec:\n  rules: [{backendRefs: [{name: devgate-auth, namespace: devgate, port: 80}]}]\n"),
		[]string{`The HTTPRoute "front" is invalid`, "spec.rules[0].backendRefs[0].namespace", "of another namespace"}, as...)
	// Another Gateway.
	mustFail(t, route(ns, "internal", "spec:\n  parentRefs: [{namespace: platform, name: internal}]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n"),
		[]string{`The HTTPRoute "internal" is invalid`, "spec.parentRefs[0]"}, as...)

	// A private route gets the filter on every rule; adding a rule without
	// it is denied.
	private := route(ns, "secret", "  annotations: {dev.okteto.com/private: \"true\"}\n"+
		"spec:\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /a}}]\n    backendRefs: [{name: web, port: 80}]\n  - matches: [{path: {type: PathPrefix, value: /b}}]\n    backendRefs: [{name: web, port: 80}]\n")
	mustKubectl(t, private, as...)
	r, err := getRoute(t, ns, "secret")
	if err != nil {
		t.Fatal(err)
	}
	for i, rule := range r.Spec.Rules {
		if len(rule.Filters) != 1 || rule.Filters[0].Type != "ExternalAuth" {
			t.Errorf("rule %d filters %+v", i, rule.Filters)
		}
	}
	// A rule added without the filter gets it; one with an altered filter
	// is denied.
	mustKubectl(t, "", "-n", ns, "patch", "httproute", "secret", "--type=json", "--as", "alice", "-p",
		`[{"op":"add","path":"/spec/rules/-","value":{"matches":[{"path":{"type":"PathPrefix","value":"/open"}}],"backendRefs":[{"name":"web","port":80}]}}]`)
	if r, err := getRoute(t, ns, "secret"); err != nil || len(r.Spec.Rules) != 3 || len(r.Spec.Rules[2].Filters) != 1 || r.Spec.Rules[2].Filters[0].Type != "ExternalAuth" {
		t.Fatalf("after adding a rule: %v, rules %+v", err, r.Spec.Rules)
	}
	mustFail(t, "", []string{`The HTTPRoute "secret" is invalid`, "spec.rules[2].filters[0]"},
		"-n", ns, "patch", "httproute", "secret", "--type=json", "--as", "alice", "-p",
		`[{"op":"replace","path":"/spec/rules/2/filters/0/externalAuth/backendRef/name","value":"web"}]`)
	// The grant covers the tenant's private route's namespace too.
	eventually(t, 20*time.Second, func() error {
		var g gatewayv1.ReferenceGrant
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "devgate", Name: controller.ReferenceGrantName}, &g); err != nil {
			return err
		}
		var from []string
		for _, f := range g.Spec.From {
			from = append(from, string(f.Namespace))
		}
		if !slices.Contains(from, ns) || slices.Contains(from, other) {
			return fmt.Errorf("grant from %v", from)
		}
		return nil
	})
	mustKubectl(t, "", "-n", ns, "delete", "httproute", "secret", "--as", "alice")
	if strings.Contains(out, "\n") {
		t.Errorf("unexpected output %q", out)
	}
}

// grantedNamespaces are the namespaces devgate's ReferenceGrant lets refer
// to the auth Service; nil when there is no grant.
func grantedNamespaces(t *testing.T) []string {
	t.Helper()
	var g gatewayv1.ReferenceGrant
	err := cl.Get(context.Background(), client.ObjectKey{Namespace: "devgate", Name: controller.ReferenceGrantName}, &g)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range g.Spec.From {
		out = append(out, string(f.Namespace))
	}
	return out
}
