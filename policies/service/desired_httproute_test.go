package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/service"
)

// routesConfig is HTTPRoute mode with the platform's Gateway and the auth
// Service named.
func routesConfig(t testing.TB) *config.Config {
	cfg := config.Default()
	cfg.Endpoints.Kind = config.EndpointsKindHTTPRoute
	cfg.Endpoints.Gateway = config.GatewayRef{Namespace: "gateways", Name: "public"}
	cfg.Endpoints.AuthService.Namespace, cfg.Endpoints.AuthService.Name = "devgate", "devgate-auth"
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	return cfg
}

// TestDesiredHTTPRoute: SPEC 10, the HTTPRoute the controller owns, exactly.
func TestDesiredHTTPRoute(t *testing.T) {
	meta := func(v string) string { return strings.Replace(ownedMeta, "%s", v, 1) }
	const (
		routeMeta = "{" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'%s}}"
		parent    = "parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gateways, name: public}]"
		hostnames = "hostnames: [web-alice.okteto.example.com]"
		match     = "matches: [{path: {type: PathPrefix, value: /}}]"
		backend   = "backendRefs: [{name: web, port: %d}]"
	)
	rule := func(port string, filters string) string {
		return "rules: [{" + match + filters + ", " + strings.Replace(backend, "%d", port, 1) + "}]"
	}
	filter := "filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {group: '', kind: Service, name: devgate-auth, namespace: devgate, port: 80}, " +
		"http: {path: /auth/verify/alice, allowedHeaders: [Cookie, X-Forwarded-For, X-Forwarded-Proto], allowedResponseHeaders: [X-Auth-Request-User, X-Auth-Request-Email]}}}]"
	cases := []struct {
		name       string
		cfg        func(*config.Config)
		meta, spec string
		want       string // the exact HTTPRoute, flow-style YAML
	}{
		{
			name: "public, on the configured Gateway",
			meta: meta("true"),
			spec: "{ports: [{name: metrics, port: 9090, protocol: UDP}, {name: http, port: 80, targetPort: 8080}]}",
			want: "{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: " + strings.Replace(routeMeta, "%s", "", 1) +
				", spec: {" + parent + ", " + hostnames + ", " + rule("80", "") + "}}",
		},
		{
			name: "the Gateway's listener",
			cfg:  func(c *config.Config) { c.Endpoints.Gateway.SectionName = "https" },
			meta: meta("true"),
			spec: "{ports: [{name: 80-8080, port: 80, targetPort: 8080}]}",
			want: "{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: " + strings.Replace(routeMeta, "%s", "", 1) +
				", spec: {" + strings.Replace(parent, "name: public", "name: public, sectionName: https", 1) + ", " + hostnames + ", " + rule("80", "") + "}}",
		},
		{
			name: "private: the ExternalAuth filter to the auth Service",
			meta: meta("private"),
			spec: "{ports: [{name: web, port: 8443, appProtocol: https}]}",
			want: "{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: " + strings.Replace(routeMeta, "%s", ", dev.okteto.com/private: 'true'", 1) +
				", spec: {" + parent + ", " + hostnames + ", " + rule("8443", ", "+filter) + "}}",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := routesConfig(t)
			if c.cfg != nil {
				c.cfg(cfg)
			}
			got, err := service.DesiredHTTPRoute(svc(t, c.meta, c.spec), cfg)
			if err != nil || got == nil {
				t.Fatalf("DesiredHTTPRoute = %v, %v", got, err)
			}
			var want gatewayv1.HTTPRoute
			if err := json.Unmarshal(toJSON(t, c.want), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(got), mustJSON(&want); g != w {
				t.Fatalf("HTTPRoute:\n got %s\nwant %s", g, w)
			}
			// A fixed point of the webhooks: what the controller writes is
			// what is stored.
			raw, _ := json.Marshal(got)
			routes := engine.New(httproute.New())
			out := routes.Admit(engine.Input{Operation: policies.Create, Kind: httproute.GVK, Namespace: got.Namespace, Object: raw}, cfg, nil)
			if !out.Handled || !out.Allowed() || len(out.Patch) != 0 || len(out.Warnings) != 0 {
				t.Fatalf("generated HTTPRoute is not a fixed point: handled %v, denials %q, patch %s, warnings %q",
					out.Handled, errorStrings(out.Denials), mustJSON(out.Patch), out.Warnings)
			}
			// The Generator, as the CLI shows it, and DesiredEndpoint, as the
			// controller reconciles it, give the same object.
			generated, err := service.New().Generate(svc(t, c.meta, c.spec), cfg)
			if err != nil || len(generated) != 1 || mustJSON(generated[0]) != mustJSON(got) {
				t.Fatalf("Generate = %v, %v", generated, err)
			}
		})
	}

	// No endpoint: no HTTPRoute, and never a typed nil.
	desired, err := service.DesiredEndpoint(svc(t, "{name: web, namespace: alice}", httpPort), routesConfig(t))
	if desired != nil || err != nil {
		t.Fatalf("DesiredEndpoint without an endpoint = %#v, %v", desired, err)
	}
	// Ingress mode is unchanged.
	desired, err = service.DesiredEndpoint(svc(t, meta("true"), httpPort), config.Default())
	if err != nil || desired.GetObjectKind().GroupVersionKind().Kind != "Ingress" {
		t.Fatalf("DesiredEndpoint in ingress mode = %#v, %v", desired, err)
	}
}
