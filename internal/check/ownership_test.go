package check

import (
	"slices"
	"strings"
	"testing"

	"devgate.dev/devgate/policies/all"
)

// TestRunHostOwnership: devgate check knows the namespaces and the hosts of
// the manifests it is given, and applies SPEC 3's ownership rule with them,
// exactly as the webhook does with its caches.
func TestRunHostOwnership(t *testing.T) {
	const (
		namespaceTeamA = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n"
		ingressInA     = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: a}
spec:
  rules:
  - host: web-team-a.okteto.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
`
		serviceInA = `apiVersion: v1
kind: Service
metadata: {name: web-team, namespace: a, annotations: {dev.okteto.com/auto-ingress: "true"}}
spec: {ports: [{name: http, port: 80}]}
---
`
	)
	verdicts := func(t *testing.T, files map[string]string, names ...string) []string {
		t.Helper()
		report, _, _, err := run(t, files, Options{Filenames: names, Engine: all.Engine()})
		if err != nil && report == nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range report.Results {
			v := r.Kind + "/" + r.Name + ": allowed"
			if !r.Allowed {
				v = r.Kind + "/" + r.Name + ": " + strings.Join(r.Denials, "; ")
			}
			got = append(got, v)
		}
		return got
	}
	t.Run("the namespace comes with the manifests", func(t *testing.T) {
		got := verdicts(t, map[string]string{"ns.yaml": namespaceTeamA, "app.yaml": ingressInA + serviceInA}, "ns.yaml", "app.yaml")
		if len(got) != 3 {
			t.Fatalf("results: %q", got)
		}
		// Namespace team-a would take the host that a's Ingress serves (and
		// that a's Service would get); a's objects are denied team-a's host.
		for i, want := range []string{
			`Namespace/team-a: metadata.name: Forbidden: a namespace "team-a" would own hosts that other namespaces already serve`,
			`Ingress/web: spec.rules[0].host: Invalid value: "web-team-a.okteto.example.com": the host belongs to the namespace "team-a"`,
			`Service/web-team: metadata.name: Invalid value: "web-team": dev.okteto.com/auto-ingress: "true" needs the host web-team-a.okteto.example.com, which is not allowed: the host belongs to the namespace "team-a"`,
		} {
			if !strings.HasPrefix(got[i], want) {
				t.Errorf("result %d = %q\nwant prefix %q", i, got[i], want)
			}
		}
		if !strings.Contains(got[0], "Ingress a/web serves web-team-a.okteto.example.com") {
			t.Errorf("the namespace denial does not list the Ingress: %q", got[0])
		}
	})
	t.Run("without the longer namespace", func(t *testing.T) {
		got := verdicts(t, map[string]string{"app.yaml": ingressInA + serviceInA}, "app.yaml")
		if want := []string{"Ingress/web: allowed", "Service/web-team: allowed"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
