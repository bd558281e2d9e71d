package check

import (
	"slices"
	"strings"
	"testing"

	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
)

// routeModeConfig is the built-in configuration in HTTPRoute mode.
func routeModeConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`apiVersion: devgate.dev/v1alpha1
kind: Config
domain: okteto.example.com
endpoints:
  kind: httproute
  gateway: {namespace: gateways, name: public}
  authService: {namespace: devgate, name: devgate-auth}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunHTTPRoutes: devgate check decodes gateway.networking.k8s.io/v1
// HTTPRoutes and runs the webhook's HTTPRoute policy on them, in HTTPRoute
// mode and in the default mode (which configures no Gateway).
func TestRunHTTPRoutes(t *testing.T) {
	route := func(ns, meta, spec string) string {
		return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {namespace: " + ns + ", " + meta + "}\nspec: " + spec + "\n"
	}
	cases := []struct {
		name       string
		defaultCfg bool
		manifest   string
		// verdict is the one line expected: "MUTATE", "ALLOW" or the denials.
		verdict string
		// patch are the paths the patch touches, in order.
		patch []string
	}{{
		name:     "hostname and Gateway generated",
		manifest: route("alice", "name: web", "{rules: [{backendRefs: [{name: web, port: 8080}]}]}"),
		verdict:  "MUTATE",
		patch:    []string{"/metadata/annotations", "/spec/parentRefs", "/spec/hostnames"},
	}, {
		name:     "already as devgate writes it",
		manifest: route("alice", "name: web, annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}", "{parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gateways, name: public}], hostnames: [web-alice.okteto.example.com]}"),
		verdict:  "ALLOW",
	}, {
		name:     "private route gets the ExternalAuth filter",
		manifest: route("alice", "name: web, annotations: {dev.okteto.com/private: 'true'}", "{hostnames: [web-alice.okteto.example.com], rules: [{backendRefs: [{name: web, port: 8080}]}]}"),
		verdict:  "MUTATE",
		patch:    []string{"/metadata/annotations/devgate.dev~1endpoints", "/spec/parentRefs", "/spec/rules/0/filters"},
	}, {
		name:     "another namespace's hostname and another Gateway denied",
		manifest: route("bob", "name: steal", "{parentRefs: [{namespace: gateways, name: internal}], hostnames: [web-alice.okteto.example.com]}"),
		verdict: `spec.hostnames[0]: Invalid value: "web-alice.okteto.example.com": the first label "web-alice" does not end with the namespace "bob": must be <name>-bob.okteto.example.com or bob.okteto.example.com; ` +
			"spec.parentRefs[0]: Forbidden: the parentRef Gateway gateways/internal is not the platform's Gateway: an HTTPRoute may attach only to the platform's Gateway gateways/public",
	}, {
		name:       "default mode: no Gateway to attach to",
		defaultCfg: true,
		manifest:   route("alice", "name: web", "{parentRefs: [{namespace: gateways, name: public}], hostnames: [web-alice.okteto.example.com]}"),
		verdict:    "spec.parentRefs[0]: Forbidden: the parentRef Gateway gateways/public: no Gateway is configured for HTTPRoutes (endpoints.gateway), so an HTTPRoute may attach to none",
		patch:      []string{"/metadata/annotations"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := routeModeConfig(t)
			if c.defaultCfg {
				cfg = config.Default()
			}
			report, _, _, err := run(t, map[string]string{"r.yaml": c.manifest}, Options{Filenames: []string{"r.yaml"}, Engine: all.Engine(), Config: cfg, Output: OutputJSON})
			if report == nil {
				t.Fatal(err)
			}
			if len(report.Results) != 1 {
				t.Fatalf("%d results", len(report.Results))
			}
			r := report.Results[0]
			if r.Kind != "HTTPRoute" || r.APIVersion != "gateway.networking.k8s.io/v1" {
				t.Errorf("result for %s %s", r.APIVersion, r.Kind)
			}
			got := "ALLOW"
			switch {
			case !r.Allowed:
				got = strings.Join(r.Denials, "; ")
			case r.Mutated():
				got = "MUTATE"
			}
			if got != c.verdict {
				t.Errorf("verdict:\n got %s\nwant %s", got, c.verdict)
			}
			var paths []string
			for _, op := range r.Patch {
				paths = append(paths, op.Path)
			}
			if !slices.Equal(paths, c.patch) {
				t.Errorf("patch paths %q, want %q", paths, c.patch)
			}
			if wantExit := map[bool]int{true: ExitAllowed, false: ExitDenied}[r.Allowed]; report.ExitCode() != wantExit {
				t.Errorf("exit code %d, want %d", report.ExitCode(), wantExit)
			}
		})
	}
}

// TestRunHTTPRouteHostOwnership: a manifest's HTTPRoute serves its hostnames
// for the ownership rule, as an Ingress does: a Namespace of the manifests
// that would own one of them is denied, naming the route.
func TestRunHTTPRouteHostOwnership(t *testing.T) {
	files := map[string]string{
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n",
		"route.yaml": "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web, namespace: a}\n" +
			"spec: {hostnames: [web-team-a.okteto.example.com]}\n",
	}
	report, _, _, err := run(t, files, Options{Filenames: []string{"ns.yaml", "route.yaml"}, Engine: all.Engine(), Config: routeModeConfig(t), Output: OutputJSON})
	if report == nil {
		t.Fatal(err)
	}
	if len(report.Results) != 2 {
		t.Fatalf("%d results", len(report.Results))
	}
	ns, route := report.Results[0], report.Results[1]
	if ns.Allowed || !strings.Contains(strings.Join(ns.Denials, ";"), "HTTPRoute a/web serves web-team-a.okteto.example.com") {
		t.Errorf("Namespace team-a: allowed %v, denials %q; want denied naming the HTTPRoute", ns.Allowed, ns.Denials)
	}
	if route.Allowed || !strings.Contains(strings.Join(route.Denials, ";"), `the host belongs to the namespace "team-a"`) {
		t.Errorf("HTTPRoute a/web: allowed %v, denials %q; want denied its host", route.Allowed, route.Denials)
	}
	if !strings.HasPrefix(strings.Join(route.Denials, ";"), "spec.hostnames[0]: ") {
		t.Errorf("denials %q, want one at spec.hostnames[0]", route.Denials)
	}
}

// TestRunServiceRouteHostOwnership: in HTTPRoute mode, a Service's endpoint
// is served by the HTTPRoute the controller would make, and a new namespace
// that would own its host is denied naming that HTTPRoute, as the webhook's
// index names it.
func TestRunServiceRouteHostOwnership(t *testing.T) {
	files := map[string]string{
		"svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web-team, namespace: claim, annotations: {dev.okteto.com/auto-ingress: \"true\"}}\n" +
			"spec: {ports: [{name: http, port: 80}]}\n",
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-claim}\n",
	}
	report, _, _, err := run(t, files, Options{Filenames: []string{"ns.yaml", "svc.yaml"}, Engine: all.Engine(), Config: routeModeConfig(t), Output: OutputJSON})
	if report == nil {
		t.Fatal(err)
	}
	if ns := report.Results[0]; ns.Allowed || !strings.Contains(strings.Join(ns.Denials, ";"), "HTTPRoute claim/web-team serves web-team-claim.okteto.example.com") {
		t.Errorf("Namespace team-claim: allowed %v, denials %q; want denied naming the HTTPRoute", ns.Allowed, ns.Denials)
	}
}
