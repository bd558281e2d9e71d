package httproute_test

import (
	"testing"

	"devgate.dev/devgate/policies/httproute"
)

// TestSecurityRules holds one attack per rule that keeps a tenant inside its
// own names, on the platform's Gateway and behind authentication. Each is
// admitted (mutation first, as the API server does) and must be denied at
// its field: without the rule, the attack would be admitted and the test
// fails.
func TestSecurityRules(t *testing.T) {
	private := "{name: web, annotations: {dev.okteto.com/private: 'true'}}"
	cases := []struct {
		name, ns, meta, spec string
		existing             []string
		validateOnly         bool
		field                string
	}{
		{name: "wildcard hostname takes every tenant's hosts", meta: "{name: web}",
			spec: "{parentRefs: [$GW], hostnames: ['*.okteto.example.com']}", field: "spec.hostnames[0]"},
		{name: "another namespace's hostname", meta: "{name: web}",
			spec: "{parentRefs: [$GW], hostnames: [web-bob.okteto.example.com]}", field: "spec.hostnames[0]"},
		{name: "a hostname outside the domain", meta: "{name: web}",
			spec: "{parentRefs: [$GW], hostnames: [login.example.org]}", field: "spec.hostnames[0]"},
		{name: "a host of a longer namespace", ns: "a", existing: []string{"team-a"}, meta: "{name: web}",
			spec: "{parentRefs: [$GW], hostnames: [web-team-a.okteto.example.com]}", field: "spec.hostnames[0]"},
		{name: "a catch-all route without hostnames", meta: "{generateName: web-}",
			spec: "{parentRefs: [$GW]}", field: "spec.hostnames"},
		{name: "a generated host too long for the certificate", meta: "{name: web, annotations: {dev.okteto.com/generate-host: " + repeat("x", 60) + "}}",
			spec: "{parentRefs: [$GW]}", field: "metadata.annotations[dev.okteto.com/generate-host]"},
		{name: "the platform's internal Gateway", meta: "{name: web}",
			spec: "{parentRefs: [{namespace: gateways, name: internal}], hostnames: [" + webAlice + "]}", field: "spec.parentRefs[0]"},
		{name: "a mesh route on another namespace's Service", meta: "{name: web}",
			spec: "{parentRefs: [{group: '', kind: Service, namespace: bob, name: api}], hostnames: [" + webAlice + "]}", field: "spec.parentRefs[0]"},
		{name: "the auth Service served under the tenant's host", meta: "{name: web}",
			spec: "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [{backendRefs: [{name: devgate-auth, namespace: devgate, port: 80}]}]}", field: "spec.rules[0].backendRefs[0].namespace"},
		{name: "requests mirrored to another namespace's Service", meta: "{name: web}",
			spec:  "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [{filters: [{type: RequestMirror, requestMirror: {backendRef: {name: api, namespace: bob, port: 80}}}], backendRefs: $BACKEND}]}",
			field: "spec.rules[0].filters[0].requestMirror.backendRef.namespace"},
		{name: "a private route's rule without the filter", meta: private, validateOnly: true,
			spec: "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [{filters: [$AUTH]}, {backendRefs: $BACKEND}]}", field: "spec.rules[1].filters"},
		{name: "a private route's filter sent to another backend", meta: private,
			spec:  "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [{filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: allow-all, port: 80}, http: {path: /}}}]}]}",
			field: "spec.rules[0].filters[0]"},
		{name: "a private route checked against another namespace", meta: private,
			spec:  "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [{filters: [" + replace(authFilter, "/auth/verify/alice", "/auth/verify/public") + "]}]}",
			field: "spec.rules[0].filters[0]"},
		{name: "a private value the tenant may think private", meta: "{name: web, annotations: {dev.okteto.com/private: 'True'}}",
			spec: "{parentRefs: [$GW], hostnames: [" + webAlice + "]}", field: "metadata.annotations[dev.okteto.com/private]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := routeCase{ns: c.ns, meta: c.meta, spec: c.spec}
			run := eng.Admit
			if c.validateOnly {
				run = eng.Validate
			}
			out := run(rc.input(t), rc.config(), namespacesLookup{names: c.existing})
			found := false
			for _, d := range out.Denials {
				found = found || d.Field == c.field
			}
			if !found {
				t.Fatalf("admitted, or denied elsewhere: want a denial at %s, got %q", c.field, errorStrings(out.Denials))
			}
		})
	}
}

// TestExternalAuthFilterRoundTrip: the exported filter, which the controller
// writes, is the one the validator accepts, and any change to it is not.
func TestExternalAuthFilterRoundTrip(t *testing.T) {
	cfg := routesConfig()
	f := httproute.ExternalAuthFilter("alice", cfg)
	if !httproute.IsExternalAuthFilter(f, "alice", cfg) {
		t.Fatal("ExternalAuthFilter is not accepted by IsExternalAuthFilter")
	}
	if httproute.IsExternalAuthFilter(f, "bob", cfg) {
		t.Error("alice's filter accepted for bob")
	}
	if p := f.ExternalAuth.HTTPAuthConfig.Path; p != "/auth/verify/alice" {
		t.Errorf("path = %q", p)
	}
	changes := map[string]func(){
		"protocol": func() { f.ExternalAuth.ExternalAuthProtocol = "GRPC" },
		"name":     func() { f.ExternalAuth.BackendRef.Name = "other" },
		"port":     func() { *f.ExternalAuth.BackendRef.Port = 8080 },
		"no namespace": func() {
			f.ExternalAuth.BackendRef.Namespace = nil
		},
		"headers":     func() { f.ExternalAuth.HTTPAuthConfig.AllowedRequestHeaders = []string{"Cookie"} },
		"no http":     func() { f.ExternalAuth.HTTPAuthConfig = nil },
		"forwardBody": func() { f.ExternalAuth.ForwardBody = &gatewayForwardBody },
	}
	for name, change := range changes {
		f = httproute.ExternalAuthFilter("alice", cfg)
		change()
		if httproute.IsExternalAuthFilter(f, "alice", cfg) {
			t.Errorf("%s changed, still accepted", name)
		}
	}
	// The request headers include the session cookie.
	if hs := httproute.ExternalAuthRequestHeaders(); len(hs) == 0 || hs[0] != "Cookie" {
		t.Errorf("allowed headers %v", hs)
	}
}

// TestGatewayParentRef: what the controller attaches generated routes to.
func TestGatewayParentRef(t *testing.T) {
	cfg := routesConfig()
	ref, ok := httproute.GatewayParentRef(cfg)
	if !ok || mustJSON(ref) != `{"group":"gateway.networking.k8s.io","kind":"Gateway","namespace":"gateways","name":"public"}` {
		t.Errorf("GatewayParentRef = %s, %v", mustJSON(ref), ok)
	}
	cfg.Endpoints.Gateway.SectionName = "https"
	if ref, _ = httproute.GatewayParentRef(cfg); ref.SectionName == nil || *ref.SectionName != "https" {
		t.Errorf("sectionName not set: %s", mustJSON(ref))
	}
	cfg.Endpoints.Gateway = routesConfig().Endpoints.Gateway
	cfg.Endpoints.Gateway.Name = ""
	if _, ok := httproute.GatewayParentRef(cfg); ok {
		t.Error("a parentRef without a configured Gateway")
	}
}
