package httproute_test

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/hosts"
	"devgate.dev/devgate/policies/httproute"
)

// The bits of the fuzzers' shape argument: which parts the route has.
const (
	shapeHost0 = 1 << iota
	shapeHost1
	shapeParent
	shapeRules
	shapeOwnFilter
	shapeOtherFilter
	shapeGenerate
	shapePrivate
	shapeSection
	shapeIngressMode
)

// FuzzHTTPRouteMutation builds HTTPRoutes of every shape the policy cares
// about (generate-host, private, hostnames, parents, rules with devgate's,
// another or no ExternalAuth filter) and checks that admission never panics,
// that the mutation is a fixed point after one run, and that an admitted
// route keeps every rule: hostnames of its namespace under the domain,
// parents that are the platform's Gateway, and on a private route devgate's
// filter on every rule.
func FuzzHTTPRouteMutation(f *testing.F) {
	f.Add("web", "alice", "true", "true", "api-alice.okteto.example.com", "*.okteto.example.com", "gateways", "public", uint16(0xffff), "")
	f.Add("web", "alice", "domain", "false", "", "", "gateways", "internal", uint16(0x00ff), "X")
	f.Add("", "alice", "api", "yes", "web-bob.okteto.example.com", "", "", "", uint16(0x0081), "Cookie")
	f.Fuzz(func(t *testing.T, name, ns, generate, private, host0, host1, parentNS, parentName string, shape uint16, header string) {
		if ns == "" {
			ns = "alice" // the engine always has a namespace
		}
		cfg := routesConfig()
		if shape&shapeSection != 0 {
			cfg.Endpoints.Gateway.SectionName = "https"
		}
		if shape&shapeIngressMode != 0 {
			cfg = config.Default()
		}
		r := fuzzRoute(name, ns, generate, private, host0, host1, parentNS, parentName, shape, header, cfg)
		raw, err := json.Marshal(r)
		if err != nil {
			t.Skip()
		}
		in := engine.Input{Operation: policies.Create, Kind: httproute.GVK, Namespace: ns, Object: raw}
		out := eng.Admit(in, cfg, nil)
		in.Object = applyPatch(t, raw, out)
		again := eng.Admit(in, cfg, nil)
		if len(again.Patch) != 0 {
			t.Fatalf("not idempotent on %s\nfirst patch %s\nsecond patch %s", raw, mustJSON(out.Patch), mustJSON(again.Patch))
		}
		if !out.Allowed() || !cfg.Managed(ns) {
			return
		}
		got := out.Object.(*gatewayv1.HTTPRoute)
		checkAdmitted(t, got, cfg)
	})
}

// fuzzRoute is the route the fuzzer's arguments describe.
func fuzzRoute(name, ns, generate, private, host0, host1, parentNS, parentName string, shape uint16, header string, cfg *config.Config) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{}},
	}
	if shape&shapeGenerate != 0 {
		r.Annotations[httproute.AnnotationGenerateHost] = generate
	}
	if shape&shapePrivate != 0 {
		r.Annotations[httproute.AnnotationPrivate] = private
	}
	if shape&shapeHost0 != 0 {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(host0))
	}
	if shape&shapeHost1 != 0 {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(host1))
	}
	if shape&shapeParent != 0 {
		r.Spec.ParentRefs = []gatewayv1.ParentReference{{Namespace: ptr.To(gatewayv1.Namespace(parentNS)), Name: gatewayv1.ObjectName(parentName)}}
	}
	if shape&shapeRules != 0 {
		r.Spec.Rules = []gatewayv1.HTTPRouteRule{{}, {}}
		if shape&shapeOwnFilter != 0 {
			r.Spec.Rules[0].Filters = []gatewayv1.HTTPRouteFilter{httproute.ExternalAuthFilter(ns, routesConfig())}
		}
		if shape&shapeOtherFilter != 0 {
			other := httproute.ExternalAuthFilter(ns, routesConfig())
			other.ExternalAuth.HTTPAuthConfig.AllowedRequestHeaders = []string{header}
			r.Spec.Rules[1].Filters = []gatewayv1.HTTPRouteFilter{other}
		}
	}
	return r
}

// checkAdmitted fails unless the admitted route r obeys every rule.
func checkAdmitted(t *testing.T, r *gatewayv1.HTTPRoute, cfg *config.Config) {
	t.Helper()
	if len(r.Spec.Hostnames) == 0 {
		t.Fatalf("admitted without hostnames: %s", mustJSON(r))
	}
	for _, h := range r.Spec.Hostnames {
		if err := hosts.Check(string(h), r.Namespace, cfg.Domain); err != nil {
			t.Fatalf("admitted the hostname %q: %v", h, err)
		}
	}
	want, ok := httproute.GatewayParentRef(cfg)
	for _, p := range r.Spec.ParentRefs {
		if !ok || string(p.Name) != string(want.Name) || p.Namespace == nil || *p.Namespace != *want.Namespace ||
			(want.SectionName != nil && (p.SectionName == nil || *p.SectionName != *want.SectionName)) {
			t.Fatalf("admitted the parentRef %s (configured: %s)", mustJSON(p), mustJSON(want))
		}
	}
	if r.Annotations[httproute.AnnotationPrivate] != httproute.PrivateTrue {
		return
	}
	if len(r.Spec.Rules) == 0 {
		t.Fatal("admitted a private route without rules")
	}
	for i, rule := range r.Spec.Rules {
		has := false
		for _, f := range rule.Filters {
			has = has || httproute.IsExternalAuthFilter(f, r.Namespace, cfg)
		}
		if !has {
			t.Fatalf("admitted a private route whose rule %d has no ExternalAuth filter: %s", i, mustJSON(r))
		}
	}
}
