package integration

import (
	"fmt"
	"strings"
	"testing"
)

// An object beyond devgate's caps is denied through the real API server
// with a message naming the field and the cap, before any policy works on
// it; at the cap it is admitted. A server-side dry run is enough: it reaches
// the webhooks and stores nothing, which is what a hostile tenant would use.
func TestIngressBeyondTheCapsIsDenied(t *testing.T) {
	ns := namespace(t, "caps")
	ingress := func(rules int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: big, namespace: %s}\nspec:\n  rules:\n", ns)
		for i := range rules {
			fmt.Fprintf(&b, "  - host: r%d-%s.okteto.example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}\n", i, ns)
		}
		return b.String()
	}
	mustKubectl(t, ingress(1000), "apply", "--as", "alice", "--dry-run=server", "-o", "name", "-f", "-")
	mustFail(t, ingress(1001), []string{
		invalid("Ingress", "big"),
		"spec.rules: Too many: 1001: must have at most 1000 items",
	}, "apply", "--as", "alice", "--dry-run=server", "-f", "-")
}
