package ingress_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/internal/policytest"
)

var fuzzConfig = policytest.FuzzConfig

// admitTwice admits raw, applies the patch, admits the result again and fails
// unless the second patch is empty: the mutation is idempotent.
func admitTwice(t *testing.T, raw []byte, ns string, cfg *config.Config) {
	t.Helper()
	in := engine.Input{Operation: policies.Create, Kind: ingressGVK, Namespace: ns, Object: raw}
	out := eng.Admit(in, cfg, nil)
	in.Object = applyPatch(t, raw, out)
	again := eng.Admit(in, cfg, nil)
	if len(again.Patch) != 0 {
		t.Fatalf("not idempotent on %s\nfirst patch %s\nsecond patch %s", raw, mustJSON(out.Patch), mustJSON(again.Patch))
	}
}

// FuzzIngressMutation builds Ingresses of every shape the policy cares about
// (generate-host, private, hosts, TLS, catch-alls, nil http, empty paths,
// arbitrary annotations) and checks that admission never panics and that the
// mutation is a fixed point after one run.
func FuzzIngressMutation(f *testing.F) {
	f.Add("web", "alice", "true", "true", "myapp.example.org", "web-alice.okteto.example.com", "myapp.example.org", uint16(0xffff), "nginx.ingress.kubernetes.io/auth-url", "x", uint8(0))
	f.Add("web", "alice", "domain", "false", "", "", "", uint16(0x0003), "nginx.ingress.kubernetes.io/auth-signin", "https://okteto.example.com/auth/signin?rd=$scheme://$host$escaped_request_uri", uint8(1))
	f.Add("web", "alice", "api", "yes", "api-alice.okteto.example.com", "", "api-alice.okteto.example.com", uint16(0x0105), "cert-manager.io/issuer", "mine", uint8(1))
	f.Add("", "alice", "true", "true", "", "", "", uint16(0x0020), "nginx.ingress.kubernetes.io/configuration-snippet", "a;b", uint8(2))
	f.Add("web", "bob", "API", "", "*.okteto.example.com", "Web-bob.okteto.example.com.", "", uint16(0x00f0), "devgate.dev/endpoints", "https://x", uint8(3))
	f.Add(repeat("a", 58), "alice", "true", "true", "", "", "", uint16(0x0041), "", "", uint8(0))
	f.Fuzz(func(t *testing.T, name, ns, generate, private, host0, host1, tlsHost string, shape uint16, key, value string, pick uint8) {
		if ns == "" {
			ns = "alice" // the engine always has a namespace
		}
		ing := fuzzIngress(name, ns, generate, private, host0, host1, tlsHost, shape, key, value)
		raw, err := json.Marshal(ing)
		if err != nil {
			t.Skip()
		}
		admitTwice(t, raw, ns, fuzzConfig(pick))
	})
}

// fuzzIngress assembles an Ingress; each bit of shape switches one feature.
func fuzzIngress(name, ns, generate, private, host0, host1, tlsHost string, shape uint16, key, value string) *networkingv1.Ingress {
	bit := func(i uint) bool { return shape&(1<<i) != 0 }
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{}}}
	if bit(0) {
		ing.Annotations["dev.okteto.com/generate-host"] = generate
	}
	if bit(1) {
		ing.Annotations["dev.okteto.com/private"] = private
	}
	if key != "" {
		ing.Annotations[key] = value
	}
	prefix := networkingv1.PathTypePrefix
	http := &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
		Path: "/", PathType: &prefix,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
	}}}
	if bit(2) {
		http = nil
	} else if bit(3) {
		http.Paths = []networkingv1.HTTPIngressPath{}
	}
	if !bit(4) {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: host0, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: http}})
	}
	if bit(5) {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: host1})
	}
	if bit(6) {
		ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
	}
	if bit(7) {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: []string{tlsHost}, SecretName: "own"})
	}
	if bit(8) {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: []string{host0, tlsHost}})
	}
	if bit(9) {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{SecretName: name + "-tls"})
	}
	if bit(10) {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: host0})
	}
	if bit(11) {
		ing.Annotations = nil
	}
	return ing
}

// FuzzIngressJSON feeds arbitrary JSON to the engine as an Ingress: whatever
// decodes must be admitted without panic and mutate to a fixed point.
func FuzzIngressJSON(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"name":"web"},"spec":{"rules":[{"http":{"paths":[]}}]}}`,
		`{"metadata":{"name":"web","annotations":{"dev.okteto.com/generate-host":"true"}},"spec":{"rules":[{"host":"a.example.org"},{"host":"b-alice.okteto.example.com","http":null}],"tls":[{"hosts":["a.example.org"]},{"hosts":[]}]}}`,
		`{"metadata":{"name":"web","annotations":{"dev.okteto.com/private":"true","nginx.ingress.kubernetes.io/auth-url":"x"}},"spec":{"defaultBackend":{"service":{"name":"web","port":{"number":80}}}}}`,
		`{"metadata":{"annotations":null},"spec":{"rules":null,"tls":null}}`,
		`{"metadata":{"name":"web","namespace":"kube-system"},"spec":{"rules":[{}]}}`,
		`{"spec":{"tls":[{"hosts":[""]}],"rules":[{"host":""},{"host":""}]}}`,
		// SPEC 8: at the caps (replaceRules and dropTLSHosts over 1000
		// foreign hosts, uncovered over 1000 rule and TLS hosts), and one
		// rule beyond them (denied before any rule runs).
		capsSeed(1000, true), capsSeed(1000, false), capsSeed(1001, true),
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		ing, err := decodeIngress(data)
		if err != nil {
			return
		}
		// The API server sends the object in its own complete form: so does the test.
		raw, err := json.Marshal(ing)
		if err != nil {
			return
		}
		admitTwice(t, raw, "alice", fuzzConfig(pick))
	})
}

// capsSeed is an Ingress of n rules and n TLS entries, with generate-host and
// foreign hosts, or with the namespace's own hosts (alice, the fuzz targets'
// namespace) and every other one covered by TLS.
func capsSeed(n int, generate bool) string {
	var b strings.Builder
	b.WriteString(`{"metadata":{"name":"web"`)
	if generate {
		b.WriteString(`,"annotations":{"dev.okteto.com/generate-host":"true"}`)
	}
	b.WriteString(`},"spec":{"rules":[`)
	host := func(i int) string {
		if generate {
			return fmt.Sprintf("h%d.example.org", i)
		}
		return fmt.Sprintf("h%d-alice.okteto.example.com", i)
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"host":%q}`, host(i))
	}
	b.WriteString(`],"tls":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"hosts":[%q],"secretName":"s%d"}`, host(2*i+1), i)
	}
	b.WriteString(`]}}`)
	return b.String()
}
