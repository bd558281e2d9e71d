package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

// httpRouteMode switches the release to endpoints.kind httproute with `helm
// upgrade`, as a platform moving to Gateway API would: the running devgate,
// as the chart's ServiceAccount, replaces the Service's Ingress by an
// HTTPRoute on the platform's Gateway, denies a foreign hostname, puts the
// ExternalAuth filter on a private route and grants it the auth Service;
// switching back leaves no HTTPRoute and no ReferenceGrant of devgate's.
func httpRouteMode(newDomain string) features.Feature {
	routeSet := []string{"--set", "config.endpoints.kind=httproute",
		"--set", "config.endpoints.gateway.namespace=gateways", "--set", "config.endpoints.gateway.name=public",
		"--set", "config.endpoints.authService.namespace=" + releaseNS, "--set", "config.endpoints.authService.name=" + release + "-auth"}
	jsonpath := func(t *testing.T, kind, ns, name, path string) (string, bool) {
		out, _, ok := kubectl(t, "", "-n", ns, "get", kind, name, "-o", "jsonpath="+path)
		return out, ok
	}
	return features.New("helm upgrade to endpoints.kind httproute serves Gateway API").
		Assess("the Service's endpoint becomes an HTTPRoute on the platform's Gateway", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, `apiVersion: v1
kind: Namespace
metadata: {name: gateways}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: platform}
spec: {controllerName: example.com/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: gateways}
spec:
  gatewayClassName: platform
  listeners: [{name: https, protocol: HTTPS, port: 443, hostname: "*.`+newDomain+`", tls: {certificateRefs: [{name: wildcard}]}, allowedRoutes: {namespaces: {from: All}}}]
`, "apply", "-f", "-")
			mustHelm(t, append([]string{"upgrade", release, chartDir(), "--namespace", releaseNS, "--reuse-values"}, routeSet...)...)
			host := "web-" + tenant + "." + newDomain
			eventually(t, 60*time.Second, func() error {
				out, ok := jsonpath(t, "httproute", tenant, "web", "{.spec.hostnames[0]} {.spec.parentRefs[0].namespace}/{.spec.parentRefs[0].name} {.metadata.ownerReferences[0].kind}")
				if want := host + " gateways/public Service"; !ok || out != want {
					return fmt.Errorf("HTTPRoute web: %q, want %q", out, want)
				}
				return nil
			})
			eventually(t, 30*time.Second, func() error {
				if _, _, ok := kubectl(t, "", "-n", tenant, "get", "ingress", "web"); ok {
					return fmt.Errorf("the Ingress of Service web is still there")
				}
				return nil
			})
			return ctx
		}).
		Assess("a tenant's HTTPRoute for another namespace's host is denied", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			eventually(t, 30*time.Second, func() error {
				_, errOut, ok := kubectl(t, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: steal, namespace: %s}
spec:
  hostnames: [web-other.%s]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, tenant, newDomain), "apply", "--dry-run=server", "-f", "-")
				if ok || !strings.Contains(errOut, `The HTTPRoute "steal" is invalid`) || !strings.Contains(errOut, "spec.hostnames[0]") {
					return fmt.Errorf("a foreign hostname: ok=%v %s", ok, errOut)
				}
				return nil
			})
			return ctx
		}).
		Assess("a private Service's route has the ExternalAuth filter and the auth Service its grant", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, "", "-n", tenant, "annotate", "service", "web", "dev.okteto.com/auto-ingress=private", "--overwrite")
			eventually(t, 30*time.Second, func() error {
				out, _ := jsonpath(t, "httproute", tenant, "web", "{.spec.rules[0].filters[0].type} {.spec.rules[0].filters[0].externalAuth.http.path}")
				if want := "ExternalAuth /auth/verify/" + tenant; out != want {
					return fmt.Errorf("filter %q, want %q", out, want)
				}
				out, _ = jsonpath(t, "referencegrant", releaseNS, "devgate-auth", "{.spec.from[0].namespace} {.spec.to[0].name}")
				if want := tenant + " " + release + "-auth"; out != want {
					return fmt.Errorf("ReferenceGrant %q, want %q", out, want)
				}
				return nil
			})
			return ctx
		}).
		Assess("back to ingress mode: no HTTPRoute, no ReferenceGrant of devgate's", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, "", "-n", tenant, "annotate", "service", "web", "dev.okteto.com/auto-ingress=true", "--overwrite")
			mustHelm(t, "upgrade", release, chartDir(), "--namespace", releaseNS, "--reuse-values", "--set", "config.endpoints.kind=ingress")
			eventually(t, 60*time.Second, func() error {
				if _, _, ok := kubectl(t, "", "-n", tenant, "get", "httproute", "web"); ok {
					return fmt.Errorf("HTTPRoute web still there")
				}
				if _, _, ok := kubectl(t, "", "-n", releaseNS, "get", "referencegrant", "devgate-auth"); ok {
					return fmt.Errorf("ReferenceGrant still there")
				}
				if _, _, ok := kubectl(t, "", "-n", tenant, "get", "ingress", "web"); !ok {
					return fmt.Errorf("no Ingress web back")
				}
				return nil
			})
			mustKubectl(t, "", "delete", "namespace", "gateways", "--wait=false")
			mustKubectl(t, "", "delete", "gatewayclass", "platform")
			return ctx
		}).Feature()
}
