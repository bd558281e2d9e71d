package service_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
)

func externalName(name string) string {
	return "{type: ExternalName, externalName: '" + name + "', ports: [{name: http, port: 80}]}"
}

const (
	insideDomain = "is inside the cluster domain: it would publish another namespace's or the platform's Service under the tenant's host"
	isAnIP       = "is an IP address"
	apiServer    = "names the Kubernetes API server's Service"
	neverOne     = "ExternalName Services never get one"
	cve          = "(CVE-2020-8554)"
)

func deniedExternalName(detail string) []wantErr {
	return []wantErr{{field.ErrorTypeInvalid, "spec.externalName", detail}}
}

// TestExternalNameIsolation: SPEC 2, an ExternalName Service in a managed
// namespace cannot name an address or a host inside the cluster domain,
// whatever its annotations.
func TestExternalNameIsolation(t *testing.T) {
	corp := func(c *config.Config) { c.ClusterDomain = "k8s.corp.example" }
	var cases []svcCase
	for _, c := range []struct {
		name, externalName, detail string
		cfg                        func(*config.Config)
	}{
		{"another namespace's Service", "api.bob.svc.cluster.local", insideDomain, nil},
		{"another namespace's Service, trailing dot, upper case", "API.Bob.SVC.Cluster.Local.", insideDomain, nil},
		{"a Service by namespace.svc", "api.bob.svc", insideDomain, nil},
		{"a Service by namespace.svc, trailing dot", "api.bob.svc.", insideDomain, nil},
		{"the cluster domain itself", "cluster.local", insideDomain, nil},
		{"a Pod's DNS name", "10-0-0-5.bob.pod.cluster.local", insideDomain, nil},
		{"a configured clusterDomain", "api.bob.svc.k8s.corp.example", insideDomain, corp},
		{"kubernetes", "kubernetes", apiServer, nil},
		{"kubernetes.default", "kubernetes.default", apiServer, nil},
		{"kubernetes.default.svc", "kubernetes.default.svc", apiServer, nil},
		{"kubernetes.default.svc.cluster.local.", "Kubernetes.Default.Svc.Cluster.Local.", apiServer, nil},
		{"the metadata service", "169.254.169.254", isAnIP, nil},
		{"the metadata service, trailing dot", "169.254.169.254.", isAnIP, nil},
		{"IPv6 loopback", "::1", isAnIP, nil},
		{"IPv6 with a zone", "fe80::1%eth0", isAnIP, nil},
		{"IPv6 in brackets", "[fd00::1]", isAnIP, nil},
		{"IPv4 as one decimal number", "2130706433", isAnIP, nil},
		{"IPv4 in short form", "127.1", isAnIP, nil},
		{"IPv4 in octal", "0177.0.0.1", isAnIP, nil},
		{"IPv4 in hex", "0x7f.0.0.1", isAnIP, nil},
		{"IPv4 as one hex number", "0xA9FEA9FE", isAnIP, nil},
		{"localhost", "localhost", "is a loopback name", nil},
		{"a localhost subdomain", "admin.localhost.", "is a loopback name", nil},
		{"a single label, resolved through the search path", "api", "is a single-label name", nil},
	} {
		cases = append(cases, svcCase{
			name:    c.name,
			cfg:     c.cfg,
			meta:    "{name: web}",
			spec:    externalName(c.externalName),
			denials: deniedExternalName("externalName " + c.externalName + " " + c.detail),
		})
	}
	cases = append(cases,
		svcCase{
			name: "the attack: another namespace's Service behind a public endpoint",
			meta: "{name: web, annotations: {dev.okteto.com/auto-ingress: 'true', devgate.dev/endpoint: '" + webURL + "'}}",
			spec: externalName("api.bob.svc.cluster.local"),
			denials: []wantErr{
				{field.ErrorTypeInvalid, "spec.externalName", "externalName api.bob.svc.cluster.local " + insideDomain},
				{field.ErrorTypeForbidden, "spec.type", `dev.okteto.com/auto-ingress: "true" asks for an endpoint, but ` + neverOne},
			},
			// The endpoint annotation devgate owns goes: there is none.
			annotations: map[string]string{autoKy: "true"},
		},
		svcCase{
			name:    "the metadata service behind a private endpoint",
			meta:    auto("private"),
			spec:    externalName("169.254.169.254"),
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.externalName", isAnIP}, {field.ErrorTypeForbidden, "spec.type", neverOne}},
			// No endpoint annotation: Mutate gives an ExternalName Service none.
			annotations: map[string]string{autoKy: "private"},
		},
		svcCase{
			name:        "an external host asking for an endpoint",
			meta:        auto("true"),
			spec:        externalName("example.com"),
			denials:     []wantErr{{field.ErrorTypeForbidden, "spec.type", `dev.okteto.com/auto-ingress: "true" asks for an endpoint, but ` + neverOne}},
			annotations: map[string]string{autoKy: "true"},
		},
		svcCase{
			name:        "an unsupported annotation value and an internal name: both denied",
			meta:        auto("yes"),
			spec:        externalName("kubernetes.default.svc"),
			denials:     []wantErr{{field.ErrorTypeInvalid, "spec.externalName", apiServer}, {field.ErrorTypeNotSupported, "metadata.annotations[dev.okteto.com/auto-ingress]", ""}},
			annotations: map[string]string{autoKy: "yes"},
		},
		svcCase{
			name:    "update to an internal name",
			meta:    "{name: web}",
			spec:    externalName("api.bob.svc.cluster.local"),
			oldMeta: "{name: web}",
			oldSpec: externalName("example.com"),
			denials: deniedExternalName(insideDomain),
		},
		// Allowed.
		svcCase{name: "an external host", meta: "{name: web}", spec: externalName("example.com")},
		svcCase{name: "an external host, trailing dot", meta: "{name: web}", spec: externalName("db.example.com.")},
		svcCase{name: "an external host, opted out", meta: auto("false"), spec: externalName("example.com"), annotations: map[string]string{autoKy: "false"}},
		svcCase{name: "svc and kubernetes as ordinary labels", meta: "{name: web}", spec: externalName("svc.kubernetes.example.com")},
		svcCase{name: "a name that starts with digits", meta: "{name: web}", spec: externalName("1password.example.com")},
		svcCase{name: "cluster.local is only the default domain", cfg: corp, meta: "{name: web}", spec: externalName("mirror.cluster.local.example.org")},
		svcCase{
			name:        "an excluded namespace passes untouched",
			ns:          "kube-system",
			meta:        auto("true"),
			spec:        "{type: ExternalName, externalName: api.bob.svc.cluster.local, externalIPs: [10.0.0.1]}",
			unhandled:   true,
			annotations: map[string]string{autoKy: "true"},
		},
	)
	runServiceCases(t, cases)
}

// TestExternalNameMessage: the whole denial, as kubectl shows it.
func TestExternalNameMessage(t *testing.T) {
	out := eng.Admit(inputOf(t, svcCase{meta: "{name: web}", spec: externalName("api.bob.svc.cluster.local")}), config.Default(), nil)
	want := `spec.externalName: Invalid value: "api.bob.svc.cluster.local": externalName api.bob.svc.cluster.local is inside the cluster domain: ` +
		`it would publish another namespace's or the platform's Service under the tenant's host: an ExternalName Service in a managed namespace must name a host outside the cluster`
	if len(out.Denials) != 1 || out.Denials[0].Error() != want {
		t.Fatalf("denials %q, want %q", errorStrings(out.Denials), want)
	}
}

// TestExternalIPs: SPEC 2, spec.externalIPs is denied (CVE-2020-8554), and a
// LoadBalancer or NodePort conversion does not carry it through: the
// converted Service keeps it and is denied.
func TestExternalIPs(t *testing.T) {
	runServiceCases(t, []svcCase{
		{
			name:    "ClusterIP without annotation",
			meta:    "{name: web}",
			spec:    "{ports: [{name: http, port: 80}], externalIPs: [203.0.113.7]}",
			denials: []wantErr{{field.ErrorTypeForbidden, "spec.externalIPs", "externalIPs 203.0.113.7 would make kube-proxy on every node capture the traffic to those addresses, including other tenants' and the platform's " + cve}},
		},
		{
			name:        "ClusterIP with an endpoint",
			meta:        auto("true"),
			spec:        "{ports: [{name: http, port: 80}], externalIPs: [10.96.0.1, 10.96.0.10]}",
			denials:     []wantErr{{field.ErrorTypeForbidden, "spec.externalIPs", "externalIPs 10.96.0.1, 10.96.0.10 would make kube-proxy"}},
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
		},
		{
			name:        "LoadBalancer: converted, externalIPs kept, denied",
			meta:        "{name: web}",
			spec:        "{type: LoadBalancer, ports: [{name: http, port: 80, nodePort: 30080}], externalIPs: [10.96.0.1]}",
			warnings:    []string{"Service alice/web: type LoadBalancer converted to ClusterIP (convertLoadBalancedServices); its endpoint is " + webURL},
			denials:     []wantErr{{field.ErrorTypeForbidden, "spec.externalIPs", cve}},
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
			wantSpec:    "{type: ClusterIP, ports: [{name: http, port: 80}], externalIPs: [10.96.0.1]}",
		},
		{
			name:     "NodePort opted out: not converted, denied",
			meta:     auto("false"),
			spec:     "{type: NodePort, ports: [{port: 80, nodePort: 30080}], externalIPs: [10.96.0.1]}",
			denials:  []wantErr{{field.ErrorTypeForbidden, "spec.externalIPs", cve}},
			wantSpec: "", annotations: map[string]string{autoKy: "false"},
		},
		{
			name:     "LoadBalancer with conversion off: denied",
			cfg:      func(c *config.Config) { f := false; c.ConvertLoadBalancedServices = &f },
			meta:     "{name: web}",
			spec:     "{type: LoadBalancer, ports: [{port: 80}], externalIPs: [10.96.0.1]}",
			denials:  []wantErr{{field.ErrorTypeForbidden, "spec.externalIPs", cve}},
			wantSpec: "",
		},
		{
			name: "ExternalName with externalIPs: both denied",
			meta: "{name: web}",
			spec: "{type: ExternalName, externalName: 169.254.169.254, externalIPs: [10.96.0.1]}",
			denials: []wantErr{
				{field.ErrorTypeInvalid, "spec.externalName", isAnIP},
				{field.ErrorTypeForbidden, "spec.externalIPs", cve},
			},
		},
		{name: "an empty list is no externalIPs", meta: "{name: web}", spec: "{ports: [{name: http, port: 80}], externalIPs: []}"},
		{
			name:        "an excluded namespace passes untouched",
			ns:          "kube-node-lease",
			meta:        "{name: web}",
			spec:        "{type: LoadBalancer, ports: [{port: 80}], externalIPs: [10.96.0.1]}",
			unhandled:   true,
			annotations: nil,
		},
	})
}

// TestExternalNameGetsNoIngress: the controller and the CLI give an
// ExternalName Service no Ingress, with the reason.
func TestExternalNameGetsNoIngress(t *testing.T) {
	for _, target := range []string{"example.com", "api.bob.svc.cluster.local"} {
		for _, mode := range []string{"true", "private"} {
			s := svc(t, "{name: web, namespace: alice, uid: u1, annotations: {dev.okteto.com/auto-ingress: '"+mode+"'}}", externalName(target))
			ing, err := service.DesiredIngress(s, config.Default())
			if ing != nil || err == nil || !strings.Contains(err.Error(), neverOne) {
				t.Errorf("%s %s: DesiredIngress = %v, %v; want no Ingress and an error containing %q", target, mode, ing, err, neverOne)
			}
			ep, err := service.EndpointFor(s, config.Default())
			if ep != nil || err == nil || !strings.Contains(err.Error(), "spec.type") {
				t.Errorf("%s %s: EndpointFor = %v, %v; want no endpoint and an error at spec.type", target, mode, ep, err)
			}
			objs, err := service.New().Generate(s, config.Default())
			if len(objs) != 0 || err == nil {
				t.Errorf("%s %s: Generate = %v, %v", target, mode, objs, err)
			}
		}
	}
	// Without an endpoint asked for, nothing and no error.
	s := svc(t, "{name: web, namespace: alice}", externalName("example.com"))
	if ing, err := service.DesiredIngress(s, config.Default()); ing != nil || err != nil {
		t.Errorf("no annotation: DesiredIngress = %v, %v", ing, err)
	}
}

// TestIsolationMatchCondition: the validating rule's matchCondition sends
// ExternalName Services and Services with externalIPs to /validate even
// without annotations (the expression's text; the integration tests show the
// API server applying it).
func TestIsolationMatchCondition(t *testing.T) {
	var cond string
	for _, r := range service.New().Handles() {
		if r.Validating {
			cond = r.MatchCondition
		}
	}
	for _, want := range []string{`object.spec.type == "ExternalName"`, `size(object.spec.externalIPs) > 0`} {
		if !strings.Contains(cond, want) {
			t.Errorf("validating matchCondition lacks %s:\n%s", want, cond)
		}
	}
}

// TestExternalNameSearchPath: a name whose last label is another existing
// namespace resolves through the DNS search path to that namespace's Service.
func TestExternalNameSearchPath(t *testing.T) {
	cfg := config.Default()
	lookup := existing{"alice", "com", "mallory"}
	externalName := func(name string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "mallory"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: name},
		}
	}
	for _, c := range []struct {
		name   string
		denied bool
	}{
		{"api.alice", true},
		{"web.api.alice", true},
		{"API.Alice.", true},
		{"example.com", true}, // a namespace "com" exists
		{"api.bob", false},    // no namespace bob
		{"web.mallory", false},
		{"a.b.c.d.e.alice", false}, // five dots: resolved as written
		{"example.org", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := service.Validate(externalName(c.name), cfg, lookup)
			if !c.denied {
				if len(errs) != 0 {
					t.Fatalf("denied: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != "spec.externalName" || errs[0].Type != field.ErrorTypeInvalid ||
				!strings.Contains(errs[0].Detail, "the cluster's DNS search path resolves it to") {
				t.Fatalf("denials = %v", errs)
			}
		})
	}
}
