package config

import (
	"strings"
	"testing"
)

const endpointsHead = "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\n"

// httpRouteMode is a complete HTTPRoute-mode endpoints section.
const httpRouteMode = "endpoints:\n  kind: httproute\n  gateway: {namespace: gateways, name: public}\n  authService: {namespace: devgate, name: devgate-auth}\n"

func TestEndpointsDefaults(t *testing.T) {
	c, err := Parse([]byte(endpointsHead))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Endpoints
	if e.Kind != EndpointsKindIngress || c.HTTPRoutes() {
		t.Errorf("endpoints.kind = %q, HTTPRoutes() = %v; want ingress, false", e.Kind, c.HTTPRoutes())
	}
	if e.Gateway != (GatewayRef{}) {
		t.Errorf("endpoints.gateway = %+v, want none", e.Gateway)
	}
	if e.AuthService != (AuthServiceRef{Port: 80, VerifyPath: "/auth/verify"}) {
		t.Errorf("endpoints.authService = %+v, want port 80 and verifyPath /auth/verify only", e.AuthService)
	}
	if got := c.ExternalAuthPath("alice"); got != "/auth/verify/alice" {
		t.Errorf("ExternalAuthPath = %q", got)
	}
	if got := Default().ExternalAuthPath("bob"); got != "/auth/verify/bob" {
		t.Errorf("Default().ExternalAuthPath = %q", got)
	}
}

func TestEndpointsHTTPRouteMode(t *testing.T) {
	c, err := Parse([]byte(endpointsHead + httpRouteMode))
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTPRoutes() {
		t.Fatal("HTTPRoutes() = false in httproute mode")
	}
	want := Endpoints{
		Kind:        EndpointsKindHTTPRoute,
		Gateway:     GatewayRef{Namespace: "gateways", Name: "public"},
		AuthService: AuthServiceRef{Namespace: "devgate", Name: "devgate-auth", Port: 80, VerifyPath: "/auth/verify"},
	}
	if c.Endpoints != want {
		t.Errorf("endpoints = %+v, want %+v", c.Endpoints, want)
	}
	c, err = Parse([]byte(endpointsHead + "endpoints:\n  kind: httproute\n  gateway: {namespace: gw, name: shared.gateway, sectionName: https}\n  authService: {namespace: platform, name: auth, port: 8082, verifyPath: /verify}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoints.Gateway.SectionName != "https" || c.Endpoints.AuthService.Port != 8082 || c.ExternalAuthPath("alice") != "/verify/alice" {
		t.Errorf("the file's values were not kept: %+v", c.Endpoints)
	}
}

func TestEndpointsErrors(t *testing.T) {
	routes := "endpoints:\n  kind: httproute\n"
	auth := "  authService: {namespace: devgate, name: devgate-auth}\n"
	gw := "  gateway: {namespace: gateways, name: public}\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown kind", "endpoints: {kind: gateway}\n", `endpoints.kind: Unsupported value: "gateway": supported values: "ingress", "httproute"`},
		{"upper-case kind", "endpoints: {kind: HTTPRoute}\n", `endpoints.kind: Unsupported value: "HTTPRoute"`},
		{"unknown field", "endpoints: {kind: ingress, gateways: {}}\n", `unknown field "gateways"`},
		{"unknown gateway field", "endpoints: {gateway: {namespace: a, name: b, listener: c}}\n", `unknown field "listener"`},
		{"httproute without gateway name", routes + auth + "  gateway: {namespace: gateways}\n", "endpoints.gateway.name: Required value: the name of the platform's Gateway"},
		{"httproute without gateway namespace", routes + auth + "  gateway: {name: public}\n", "endpoints.gateway.namespace: Required value"},
		{"httproute without gateway", routes + auth, "endpoints.gateway.namespace: Required value"},
		{"partial gateway in ingress mode", "endpoints: {gateway: {sectionName: https}}\n", "endpoints.gateway.name: Required value"},
		{"bad gateway namespace", routes + auth + "  gateway: {namespace: Gateways, name: public}\n", `endpoints.gateway.namespace: Invalid value: "Gateways"`},
		{"bad gateway name", routes + auth + "  gateway: {namespace: gateways, name: 'pub lic'}\n", `endpoints.gateway.name: Invalid value: "pub lic"`},
		{"bad sectionName", routes + auth + "  gateway: {namespace: gateways, name: public, sectionName: HTTPS}\n", `endpoints.gateway.sectionName: Invalid value: "HTTPS"`},
		{"httproute without auth service", routes + gw, "endpoints.authService.namespace: Required value"},
		{"httproute without auth service name", routes + gw + "  authService: {namespace: devgate}\n", "endpoints.authService.name: Required value: the auth service's Service"},
		{"auth service name not a DNS-1035 label", routes + gw + "  authService: {namespace: devgate, name: 1auth}\n", `endpoints.authService.name: Invalid value: "1auth"`},
		{"auth service port 0 is the default, negative is not", routes + gw + "  authService: {namespace: devgate, name: auth, port: -1}\n", "endpoints.authService.port: Invalid value: -1"},
		{"auth service port too large", routes + gw + "  authService: {namespace: devgate, name: auth, port: 65536}\n", "endpoints.authService.port: Invalid value: 65536"},
		{"relative verifyPath", "endpoints: {authService: {verifyPath: auth/verify}}\n", `endpoints.authService.verifyPath: Invalid value: "auth/verify": must be an absolute path`},
		{"verifyPath with trailing slash", "endpoints: {authService: {verifyPath: /auth/verify/}}\n", "must not end with a slash"},
		{"verifyPath with a query", "endpoints: {authService: {verifyPath: '/auth/verify?namespace=x'}}\n", "must be a path without query or fragment"},
		{"verifyPath with a space", "endpoints: {authService: {verifyPath: '/auth/ verify'}}\n", "must hold only the characters"},
		{"verifyPath too long", "endpoints: {authService: {verifyPath: /" + strings.Repeat("a", 960) + "}}\n", "is too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(endpointsHead + tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestEndpointsIngressModeNeedsNoGateway: the default mode needs none of the
// HTTPRoute fields, and a complete reference is accepted in it.
func TestEndpointsIngressModeNeedsNoGateway(t *testing.T) {
	for _, y := range []string{
		"endpoints: {kind: ingress}\n",
		"endpoints:\n  kind: ingress\n  gateway: {namespace: gateways, name: public}\n  authService: {namespace: devgate, name: devgate-auth}\n",
	} {
		if _, err := Parse([]byte(endpointsHead + y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}
