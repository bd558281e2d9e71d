package service_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

const (
	webURL   = "https://web-alice.okteto.example.com"
	httpPort = "{ports: [{name: http, port: 80, targetPort: 8080}]}"
)

func auto(v string) string {
	return "{name: web, annotations: {dev.okteto.com/auto-ingress: '" + v + "'}}"
}

// TestAutoIngress: SPEC 2, the annotation's values and the endpoint host.
func TestAutoIngress(t *testing.T) {
	name57, name58 := repeat("a", 57), repeat("a", 58)
	ns62 := repeat("n", 62)
	runServiceCases(t, []svcCase{
		{
			name:        "true",
			meta:        auto("true"),
			spec:        httpPort,
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
		},
		{
			name:        "private",
			meta:        auto("private"),
			spec:        httpPort,
			annotations: map[string]string{autoKy: "private", endpointKy: webURL},
		},
		{
			name:        "false removes a stale endpoint",
			meta:        "{name: web, annotations: {dev.okteto.com/auto-ingress: 'false', devgate.dev/endpoint: '" + webURL + "'}}",
			spec:        httpPort,
			annotations: map[string]string{autoKy: "false"},
		},
		{
			name:        "annotation removed: the stale endpoint goes",
			meta:        "{name: web, annotations: {devgate.dev/endpoint: '" + webURL + "'}}",
			oldMeta:     "{name: web, annotations: {dev.okteto.com/auto-ingress: 'true', devgate.dev/endpoint: '" + webURL + "'}}",
			spec:        httpPort,
			oldSpec:     httpPort,
			annotations: nil,
		},
		{
			name:        "a hand-written endpoint is corrected",
			meta:        "{name: web, annotations: {dev.okteto.com/auto-ingress: 'true', devgate.dev/endpoint: 'https://evil.example.org'}}",
			spec:        httpPort,
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
		},
		{
			name:        "no annotation, ClusterIP: untouched",
			meta:        "{name: web}",
			spec:        httpPort,
			annotations: nil,
		},
		{
			name:        "unsupported value",
			meta:        auto("yes"),
			spec:        httpPort,
			denials:     []wantErr{{field.ErrorTypeNotSupported, "metadata.annotations[dev.okteto.com/auto-ingress]", ""}},
			annotations: map[string]string{autoKy: "yes"},
		},
		{
			name:        "first label of 63 characters",
			meta:        "{name: " + name57 + ", annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec:        httpPort,
			annotations: map[string]string{autoKy: "true", endpointKy: "https://" + name57 + "-alice.okteto.example.com"},
		},
		{
			name: "first label of 64 characters",
			meta: "{name: " + name58 + ", annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec: httpPort,
			denials: []wantErr{{field.ErrorTypeInvalid, "metadata.name",
				`dev.okteto.com/auto-ingress: "true" needs the host ` + name58 + `-alice.okteto.example.com, which is too long: the first label "` + name58 + `-alice" is 64 characters long, at most 63 are allowed (the wildcard certificate covers exactly one DNS label): shorten the Service name "` + name58 + `" by at least 1 characters (to at most 57), or set dev.okteto.com/auto-ingress: "false"`}},
			annotations: map[string]string{autoKy: "true"},
		},
		{
			name:        "the namespace leaves no room",
			ns:          ns62,
			meta:        auto("private"),
			spec:        httpPort,
			denials:     []wantErr{{field.ErrorTypeInvalid, "metadata.name", `the namespace "` + ns62 + `" (62 characters) leaves no room for the Service name: shorten the namespace`}},
			annotations: map[string]string{autoKy: "private"},
		},
		{
			name:        "no metadata.name",
			meta:        "{generateName: web-, annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec:        httpPort,
			denials:     []wantErr{{field.ErrorTypeRequired, "metadata.name", "set metadata.name"}},
			annotations: map[string]string{autoKy: "true"},
		},
		{
			name:        "a name that is invalid punycode",
			meta:        "{name: xn--abc, annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec:        httpPort,
			denials:     []wantErr{{field.ErrorTypeInvalid, "metadata.name", `needs the host xn--abc-alice.okteto.example.com, which is not allowed: the first label "xn--abc-alice" is not valid punycode`}},
			annotations: map[string]string{autoKy: "true"},
		},
		{
			name:        "no port",
			meta:        auto("true"),
			spec:        "{clusterIP: None}",
			denials:     []wantErr{{field.ErrorTypeRequired, "spec.ports", `dev.okteto.com/auto-ingress: "true" needs an HTTP port: protocol TCP or unset, appProtocol unset or one of http, https, kubernetes.io/h2c, kubernetes.io/ws, kubernetes.io/wss, and a name that does not start with grpc, tcp, udp`}},
			annotations: map[string]string{autoKy: "true"},
		},
		{
			name:        "no HTTP port",
			meta:        auto("true"),
			spec:        "{ports: [{name: dns, port: 53, protocol: UDP}, {name: grpc-api, port: 9000}, {name: db, port: 5432, appProtocol: postgresql}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, "spec.ports", "no port is HTTP: "}},
			annotations: map[string]string{autoKy: "true"},
		},
		{
			name:        "unmanaged namespace passes untouched",
			ns:          "kube-system",
			meta:        auto("yes"),
			spec:        "{type: LoadBalancer, ports: [{port: 80, nodePort: 30080}]}",
			unhandled:   true,
			annotations: map[string]string{autoKy: "yes"},
		},
	})
}

func TestUnsupportedValueMessage(t *testing.T) {
	out := eng.Admit(inputOf(t, svcCase{meta: auto("yes"), spec: httpPort}), config.Default(), nil)
	want := `metadata.annotations[dev.okteto.com/auto-ingress]: Unsupported value: "yes": supported values: "true", "private", "false"`
	if len(out.Denials) != 1 || out.Denials[0].Error() != want {
		t.Fatalf("denials %q, want %q", errorStrings(out.Denials), want)
	}
}

func TestNoHTTPPortMessage(t *testing.T) {
	out := eng.Admit(inputOf(t, svcCase{meta: auto("true"), spec: "{ports: [{name: dns, port: 53, protocol: UDP}, {name: grpc-api, port: 9000, appProtocol: grpc}]}"}), config.Default(), nil)
	want := `spec.ports: Invalid value: "53/UDP (name dns), 9000 (name grpc-api, appProtocol grpc)": no port is HTTP: dev.okteto.com/auto-ingress: "true" needs an HTTP port: ` +
		`protocol TCP or unset, appProtocol unset or one of http, https, kubernetes.io/h2c, kubernetes.io/ws, kubernetes.io/wss, and a name that does not start with grpc, tcp, udp; or set dev.okteto.com/auto-ingress: "false"`
	if len(out.Denials) != 1 || out.Denials[0].Error() != want {
		t.Fatalf("denials %q, want %q", errorStrings(out.Denials), want)
	}
}

// TestConvert: SPEC 2, convertLoadBalancedServices.
func TestConvert(t *testing.T) {
	const (
		lbSpec = "{type: LoadBalancer, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}, {name: metrics, port: 9090, nodePort: 30090}], " +
			"loadBalancerIP: 10.0.0.1, loadBalancerSourceRanges: [10.0.0.0/8], loadBalancerClass: example.org/lb, externalTrafficPolicy: Local, " +
			"healthCheckNodePort: 30500, allocateLoadBalancerNodePorts: true, selector: {app: web}, sessionAffinity: ClientIP}"
		converted = "{type: ClusterIP, ports: [{name: http, port: 80, targetPort: 8080}, {name: metrics, port: 9090}], selector: {app: web}, sessionAffinity: ClientIP}"
		npSpec    = "{type: NodePort, ports: [{port: 80, nodePort: 30080}], externalTrafficPolicy: Cluster}"
		udpLB     = "{type: LoadBalancer, ports: [{name: dns, port: 53, protocol: UDP, nodePort: 30053}]}"
	)
	name58 := repeat("a", 58)
	runServiceCases(t, []svcCase{
		{
			name:        "LoadBalancer",
			meta:        "{name: web}",
			spec:        lbSpec,
			warnings:    []string{"Service alice/web: type LoadBalancer converted to ClusterIP (convertLoadBalancedServices); its endpoint is " + webURL},
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
			wantSpec:    converted,
		},
		{
			name:        "NodePort",
			meta:        "{name: web}",
			spec:        npSpec,
			warnings:    []string{"Service alice/web: type NodePort converted to ClusterIP (convertLoadBalancedServices); its endpoint is " + webURL},
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
			wantSpec:    "{type: ClusterIP, ports: [{port: 80}]}",
		},
		{
			name:        "explicit private keeps its value",
			meta:        auto("private"),
			spec:        npSpec,
			warnings:    []string{"Service alice/web: type NodePort converted to ClusterIP (convertLoadBalancedServices); its endpoint is " + webURL},
			annotations: map[string]string{autoKy: "private", endpointKy: webURL},
			wantSpec:    "{type: ClusterIP, ports: [{port: 80}]}",
		},
		{
			name:        "false opts out",
			meta:        auto("false"),
			spec:        lbSpec,
			annotations: map[string]string{autoKy: "false"},
		},
		{
			name:        "convertLoadBalancedServices false",
			cfg:         func(c *config.Config) { f := false; c.ConvertLoadBalancedServices = &f },
			meta:        "{name: web}",
			spec:        lbSpec,
			annotations: nil,
		},
		{
			name: "host label too long: converted, warned, no endpoint",
			meta: "{name: " + name58 + "}",
			spec: npSpec,
			warnings: []string{"Service alice/" + name58 + ": type NodePort converted to ClusterIP (convertLoadBalancedServices); it gets no endpoint: metadata.name: Invalid value: \"" + name58 + "\": " +
				`dev.okteto.com/auto-ingress: "true" needs the host ` + name58 + `-alice.okteto.example.com, which is too long: the first label "` + name58 + `-alice" is 64 characters long, at most 63 are allowed (the wildcard certificate covers exactly one DNS label): shorten the Service name "` + name58 + `" by at least 1 characters (to at most 57), or set dev.okteto.com/auto-ingress: "false"`},
			annotations: nil,
			wantSpec:    "{type: ClusterIP, ports: [{port: 80}]}",
		},
		{
			name: "no HTTP port: converted, warned, no endpoint",
			meta: "{name: dns}",
			spec: udpLB,
			warnings: []string{`Service alice/dns: type LoadBalancer converted to ClusterIP (convertLoadBalancedServices); it gets no endpoint: spec.ports: Invalid value: "53/UDP (name dns)": no port is HTTP: dev.okteto.com/auto-ingress: "true" needs an HTTP port: ` +
				`protocol TCP or unset, appProtocol unset or one of http, https, kubernetes.io/h2c, kubernetes.io/ws, kubernetes.io/wss, and a name that does not start with grpc, tcp, udp; or set dev.okteto.com/auto-ingress: "false"`},
			annotations: nil,
			wantSpec:    "{type: ClusterIP, ports: [{name: dns, port: 53, protocol: UDP}]}",
		},
		{
			name:        "explicit true with a label too long is denied, not warned",
			meta:        "{name: " + name58 + ", annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec:        npSpec,
			warnings:    []string{"Service alice/" + name58 + ": type NodePort converted to ClusterIP (convertLoadBalancedServices)"},
			denials:     []wantErr{{field.ErrorTypeInvalid, "metadata.name", "is 64 characters long"}},
			annotations: map[string]string{autoKy: "true"},
			wantSpec:    "{type: ClusterIP, ports: [{port: 80}]}",
		},
		{
			name:        "an unsupported value is denied unconverted",
			meta:        auto("yes"),
			spec:        npSpec,
			denials:     []wantErr{{field.ErrorTypeNotSupported, "metadata.annotations[dev.okteto.com/auto-ingress]", ""}},
			annotations: map[string]string{autoKy: "yes"},
		},
		{
			name:        "update of a LoadBalancer",
			meta:        "{name: web}",
			spec:        lbSpec,
			oldMeta:     "{name: web}",
			oldSpec:     lbSpec,
			warnings:    []string{"Service alice/web: type LoadBalancer converted to ClusterIP (convertLoadBalancedServices); its endpoint is " + webURL},
			annotations: map[string]string{autoKy: "true", endpointKy: webURL},
			wantSpec:    converted,
		},
		{
			name:        "unmanaged namespace: not converted",
			ns:          "kube-public",
			meta:        "{name: web}",
			spec:        lbSpec,
			unhandled:   true,
			annotations: nil,
		},
	})
}
