package gatewayapi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/test/kubetest"
)

// routeParityManifests cover the HTTPRoute policy, allowed, mutated and
// denied, and a Service whose endpoint is an HTTPRoute. %[1]s is the
// namespace.
const routeParityManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: %[1]s}
spec:
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: docs, namespace: %[1]s, annotations: {dev.okteto.com/generate-host: api, dev.okteto.com/private: "true"}}
spec:
  hostnames: [docs-%[1]s.okteto.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: web, port: 80}]
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: steal, namespace: %[1]s}
spec:
  hostnames: [web-other.okteto.example.com, "*.okteto.example.com"]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: internal, namespace: %[1]s}
spec:
  parentRefs: [{namespace: platform, name: internal}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s, annotations: {dev.okteto.com/auto-ingress: private}}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// TestCheckMatchesTheWebhook: `devgate check` and the webhook behind the API
// server give HTTPRoutes the same verdicts, the same denied fields and the
// same mutated objects, and the HTTPRoute check says the controller would
// generate for a Service is the one it does.
func TestCheckMatchesTheWebhook(t *testing.T) {
	ns := namespace(t, "routes-parity")
	cfg, err := config.Parse([]byte(routesConfig))
	if err != nil {
		t.Fatal(err)
	}
	report, docs := kubetest.CheckManifests(t, fmt.Sprintf(routeParityManifests, ns), cfg)
	allowed := 0
	for i, doc := range docs {
		r := report.Results[i]
		t.Run(r.Kind+"/"+r.Name, func(t *testing.T) {
			out, errOut, ok := kubetest.Kubectl(t, env.ControlPlane, doc, "create", "--as", "alice", "--dry-run=server", "-o", "json", "-f", "-")
			if ok != r.Allowed {
				t.Fatalf("webhook allowed=%v (%s), check allowed=%v %v", ok, errOut, r.Allowed, r.Denials)
			}
			if !ok {
				for _, c := range r.Causes {
					if !strings.Contains(errOut, c.Field) {
						t.Errorf("webhook denial %q does not name %q (check: %s)", errOut, c.Field, c.Message)
					}
				}
				return
			}
			allowed++
			var live, checked map[string]any
			kubetest.MustUnmarshal(t, []byte(out), &live)
			kubetest.MustUnmarshal(t, r.Object, &checked)
			if d := kubetest.SubsetDiff("", checked, live); d != "" {
				t.Errorf("check's object differs from the webhook's: %s\ncheck:   %s\nwebhook: %s", d, kubetest.Compact(checked), kubetest.Compact(live))
			}
		})
	}
	if allowed == 0 || allowed == len(docs) {
		t.Fatalf("%d of %d allowed: the manifests must hold both outcomes", allowed, len(docs))
	}

	// The Service's HTTPRoute, as check shows it and as the controller makes it.
	service := report.Results[len(report.Results)-1]
	if len(service.Generated) != 1 {
		t.Fatalf("check generates %d objects for Service web", len(service.Generated))
	}
	mustKubectl(t, docs[len(docs)-1], "apply", "--as", "alice", "-f", "-")
	var want, got map[string]any
	kubetest.MustUnmarshal(t, service.Generated[0], &want)
	eventually(t, 20*time.Second, func() error {
		out, errOut, ok := kubetest.Kubectl(t, env.ControlPlane, "", "-n", ns, "get", "httproute", "web", "-o", "json")
		if !ok {
			return fmt.Errorf("httproute web: %s", errOut)
		}
		kubetest.MustUnmarshal(t, []byte(out), &got)
		return nil
	})
	// check's route has no ownerReference (its Service has no uid); the
	// controller's has one. The spec the server stores carries defaults.
	for _, path := range [][]string{{"metadata", "labels"}, {"metadata", "annotations"}} {
		if g, w := kubetest.Dig(got, path...), kubetest.Dig(want, path...); !reflect.DeepEqual(g, w) {
			t.Errorf("HTTPRoute web %s: controller %v, check %v", strings.Join(path, "."), g, w)
		}
	}
	if d := kubetest.SubsetDiff("spec", kubetest.Dig(want, "spec"), kubetest.Dig(got, "spec")); d != "" {
		t.Errorf("HTTPRoute web: check's spec differs from the controller's: %s", d)
	}
}
