package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Host ownership across namespaces (SPEC 3) through the real API server, as
// a tenant: with namespaces own and team-own, web-team-own.<domain> is the
// endpoint of Service web in team-own, and a tenant of own may neither serve
// it with an Ingress nor get it for a Service named web-team.

func ingressWithHost(ns, name, host string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s, namespace: %s}
spec:
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, name, ns, host)
}

// deniedEventually retries a server-side dry run until the webhook denies it
// with every fragment: the webhook learns of a new namespace or Ingress from
// its informers, a few milliseconds after the API server stored it. Then the
// real request must be denied too.
func deniedEventually(t *testing.T, stdin string, want []string, args ...string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		_, errOut, ok := kubectl(t, stdin, append(args, "--dry-run=server")...)
		if ok {
			return fmt.Errorf("kubectl %s was admitted", strings.Join(args, " "))
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				return fmt.Errorf("denial %q lacks %q", errOut, w)
			}
		}
		return nil
	})
	mustFail(t, stdin, want, args...)
}

func TestIsolationHostOwnedByALongerNamespace(t *testing.T) {
	short := namespace(t, "own")
	long := namespace(t, "team-own")
	host := "web-" + long + ".okteto.example.com"

	deniedEventually(t, ingressWithHost(short, "steal", host), []string{
		invalid("Ingress", "steal"),
		`spec.rules[0].host: Invalid value: "` + host + `": the host belongs to the namespace "team-own"`,
	}, "apply", "--as", "alice", "-f", "-")
	mustFail(t, service(short, "web-team", "true"), []string{
		`metadata.name: Invalid value: "web-team"`,
		`needs the host ` + host + `, which is not allowed: the host belongs to the namespace "team-own"`,
	}, "apply", "--as", "alice", "-f", "-")

	// The owner itself gets the endpoint, Ingress and Service alike.
	mustKubectl(t, ingressWithHost(long, "web-ingress", host), "apply", "--as", "alice", "--dry-run=server", "-f", "-")
	mustKubectl(t, service(long, "web", "true"), "apply", "--as", "alice", "-f", "-")
	eventually(t, 20*time.Second, func() error {
		ing, err := getIngress("web", long)
		if err != nil {
			return err
		}
		if ing.Spec.Rules[0].Host != host {
			return fmt.Errorf("host %q", ing.Spec.Rules[0].Host)
		}
		return nil
	})
}

func TestIsolationNamespaceCannotClaimServedHosts(t *testing.T) {
	short := namespace(t, "claim")
	long := "team-" + short
	host := "web-" + long + ".okteto.example.com"

	// Without team-claim, web-team-claim is claim's (label web-team).
	mustKubectl(t, ingressWithHost(short, "web", host), "apply", "--as", "alice", "-f", "-")
	t.Cleanup(func() { kubectl(t, "", "delete", "namespace", long, "--wait=false") })
	// Creating team-claim would move the host away from claim's Ingress.
	deniedEventually(t, "", []string{
		`The Namespace "team-claim" is invalid: metadata.name: Forbidden: a namespace "team-claim" would own hosts that other namespaces already serve`,
		"Ingress claim/web serves " + host,
	}, "create", "namespace", long)

	// Once the host is no longer served, the namespace can be created.
	mustKubectl(t, "", "-n", short, "delete", "ingress", "web")
	eventually(t, 10*time.Second, func() error {
		if _, errOut, ok := kubectl(t, "", "create", "namespace", long); !ok {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	// And from now on claim cannot take it back.
	deniedEventually(t, ingressWithHost(short, "web", host), []string{`the host belongs to the namespace "team-claim"`},
		"apply", "--as", "alice", "-f", "-")
}
