package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/service"
)

// svc decodes a Service from flow-style YAML.
func svc(t testing.TB, meta, spec string) *corev1.Service {
	t.Helper()
	var s corev1.Service
	if err := json.Unmarshal(serviceJSON(t, meta, spec), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

const (
	ownedMeta = "{name: web, namespace: alice, uid: 1234-abcd, annotations: {dev.okteto.com/auto-ingress: '%s'}}"
	// ownerAndLabel are the metadata every generated Ingress of web has.
	ownerAndLabel = "name: web, namespace: alice, labels: {app.kubernetes.io/managed-by: devgate}, " +
		"ownerReferences: [{apiVersion: v1, kind: Service, name: web, uid: 1234-abcd, controller: true, blockOwnerDeletion: true}]"
	// rulesPort80 is the rule to port 80, named http: the backend names the port by number.
	rulesPort80 = "rules: [{host: web-alice.okteto.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]"
)

// TestDesiredIngress: SPEC 2, the Ingress the controller owns, exactly.
func TestDesiredIngress(t *testing.T) {
	meta := func(v string) string { return strings.Replace(ownedMeta, "%s", v, 1) }
	cases := []struct {
		name       string
		cfg        func(*config.Config)
		meta, spec string
		want       string // the exact Ingress, flow-style YAML
	}{
		{
			name: "default-certificate",
			meta: meta("true"),
			spec: "{ports: [{name: metrics, port: 9090, protocol: UDP}, {name: http, port: 80, targetPort: 8080}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}}, " +
				"spec: {" + rulesPort80 + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "ingress class, port by number when unnamed",
			cfg:  func(c *config.Config) { c.IngressClassName = "nginx" },
			meta: meta("true"),
			spec: "{ports: [{port: 8080}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}}, " +
				"spec: {ingressClassName: nginx, rules: [{host: web-alice.okteto.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}}], " +
				"tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "kubectl create service's port name: by number",
			meta: meta("private"),
			spec: "{ports: [{name: 80-8080, port: 80, protocol: TCP, targetPort: 8080}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {" +
				"devgate.dev/endpoints: 'https://web-alice.okteto.example.com', dev.okteto.com/private: 'true', " +
				"nginx.ingress.kubernetes.io/auth-url: 'https://okteto.example.com/auth/verify?namespace=alice', " +
				"nginx.ingress.kubernetes.io/auth-signin: 'https://okteto.example.com/auth/signin?rd=$scheme://$host$escaped_request_uri', " +
				"nginx.ingress.kubernetes.io/auth-response-headers: 'X-Auth-Request-User,X-Auth-Request-Email'}}, " +
				"spec: {" + rulesPort80 + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "the endpoint port, by number, is the first HTTP one",
			meta: meta("true"),
			spec: "{ports: [{name: dns, port: 53, protocol: UDP}, {name: web, port: 8443, appProtocol: https}, {name: http, port: 80}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com', nginx.ingress.kubernetes.io/backend-protocol: HTTPS}}, " +
				"spec: {" + strings.Replace(rulesPort80, "number: 80", "number: 8443", 1) + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "cert-manager",
			cfg:  func(c *config.Config) { c.TLS.Mode, c.TLS.ClusterIssuer = config.TLSModeCertManager, "letsencrypt" },
			meta: meta("true"),
			spec: "{ports: [{name: http, port: 80}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com', cert-manager.io/cluster-issuer: letsencrypt}}, " +
				"spec: {" + rulesPort80 + ", tls: [{hosts: [web-alice.okteto.example.com], secretName: web-tls}]}}",
		},
		{
			name: "none",
			cfg:  func(c *config.Config) { c.TLS.Mode = config.TLSModeNone },
			meta: meta("true"),
			spec: "{ports: [{name: http, port: 80}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}}, " +
				"spec: {" + rulesPort80 + "}}",
		},
		{
			name: "private",
			meta: meta("private"),
			spec: "{ports: [{name: http, port: 80}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {" +
				"devgate.dev/endpoints: 'https://web-alice.okteto.example.com', dev.okteto.com/private: 'true', " +
				"nginx.ingress.kubernetes.io/auth-url: 'https://okteto.example.com/auth/verify?namespace=alice', " +
				"nginx.ingress.kubernetes.io/auth-signin: 'https://okteto.example.com/auth/signin?rd=$scheme://$host$escaped_request_uri', " +
				"nginx.ingress.kubernetes.io/auth-response-headers: 'X-Auth-Request-User,X-Auth-Request-Email'}}, " +
				"spec: {" + rulesPort80 + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "appProtocol https",
			meta: meta("true"),
			spec: "{ports: [{name: http, port: 443, appProtocol: https}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {" + ownerAndLabel + ", annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com', nginx.ingress.kubernetes.io/backend-protocol: HTTPS}}, " +
				"spec: {" + strings.Replace(rulesPort80, "number: 80", "number: 443", 1) + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
		{
			name: "no uid, no owner reference",
			meta: "{name: web, namespace: alice, annotations: {dev.okteto.com/auto-ingress: 'true'}}",
			spec: "{ports: [{name: http, port: 80}]}",
			want: "{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: alice, labels: {app.kubernetes.io/managed-by: devgate}, annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}}, " +
				"spec: {" + rulesPort80 + ", tls: [{hosts: [web-alice.okteto.example.com]}]}}",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			got, err := service.DesiredIngress(svc(t, c.meta, c.spec), cfg)
			if err != nil || got == nil {
				t.Fatalf("DesiredIngress = %v, %v", got, err)
			}
			var want networkingv1.Ingress
			if err := json.Unmarshal(toJSON(t, c.want), &want); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(got), mustJSON(&want); g != w {
				t.Fatalf("Ingress:\n got %s\nwant %s", g, w)
			}
			checkFixedPoint(t, got, cfg)

			// The Generator returns the same object.
			objs, err := service.New().Generate(svc(t, c.meta, c.spec), cfg)
			if err != nil || len(objs) != 1 || mustJSON(objs[0]) != mustJSON(got) {
				t.Fatalf("Generate = %v, %v", objs, err)
			}
		})
	}
}

// checkFixedPoint admits the generated Ingress through the engine as the live
// webhooks would: allowed, no patch, no warning.
func checkFixedPoint(t *testing.T, ing *networkingv1.Ingress, cfg *config.Config) {
	t.Helper()
	raw, err := json.Marshal(ing)
	if err != nil {
		t.Fatal(err)
	}
	out := eng.Admit(engine.Input{Operation: policies.Create, Kind: ingressGVK, Namespace: ing.Namespace, Object: raw}, cfg, nil)
	if !out.Handled || !out.Allowed() || len(out.Patch) != 0 || len(out.Warnings) != 0 {
		t.Fatalf("generated Ingress is not a fixed point: handled %v, denials %q, patch %s, warnings %q",
			out.Handled, errorStrings(out.Denials), mustJSON(out.Patch), out.Warnings)
	}
}

// TestNoDesiredIngress: no endpoint, no Ingress; an impossible one is an error.
func TestNoDesiredIngress(t *testing.T) {
	cases := []struct {
		name, meta, spec string
		wantErr          string // "" for (nil, nil)
	}{
		{"no annotation", "{name: web, namespace: alice}", httpPort, ""},
		{"false", "{name: web, namespace: alice, annotations: {dev.okteto.com/auto-ingress: 'false'}}", httpPort, ""},
		{"unmanaged namespace", "{name: web, namespace: kube-system, annotations: {dev.okteto.com/auto-ingress: 'true'}}", httpPort, ""},
		{"LoadBalancer not yet converted", "{name: web, namespace: alice}", "{type: LoadBalancer, ports: [{port: 80}]}", ""},
		{"unsupported value", "{name: web, namespace: alice, annotations: {dev.okteto.com/auto-ingress: 'yes'}}", httpPort,
			`metadata.annotations[dev.okteto.com/auto-ingress]: Unsupported value: "yes"`},
		{"label too long", "{name: " + repeat("a", 58) + ", namespace: alice, annotations: {dev.okteto.com/auto-ingress: 'true'}}", httpPort,
			"is 64 characters long"},
		{"no HTTP port", "{name: web, namespace: alice, annotations: {dev.okteto.com/auto-ingress: 'true'}}", "{ports: [{port: 53, protocol: UDP}]}",
			"no port is HTTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing, err := service.DesiredIngress(svc(t, c.meta, c.spec), config.Default())
			if ing != nil {
				t.Fatalf("got an Ingress: %s", mustJSON(ing))
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
			objs, gerr := service.New().Generate(svc(t, c.meta, c.spec), config.Default())
			if len(objs) != 0 || (gerr == nil) != (err == nil) {
				t.Fatalf("Generate = %v, %v", objs, gerr)
			}
		})
	}
	if objs, err := service.New().Generate(&networkingv1.Ingress{}, config.Default()); objs != nil || err != nil {
		t.Fatalf("Generate on an Ingress = %v, %v", objs, err)
	}
}

// TestConvertedServiceGetsItsIngress: the conversion writes the annotation the
// controller reads, so a converted Service gets its Ingress.
func TestConvertedServiceGetsItsIngress(t *testing.T) {
	cfg := config.Default()
	out := eng.Admit(inputOf(t, svcCase{meta: "{name: web, uid: u1}", spec: "{type: LoadBalancer, ports: [{name: http, port: 80, nodePort: 30080}]}"}), cfg, nil)
	if !out.Allowed() {
		t.Fatal(out.Denials)
	}
	ing, err := service.DesiredIngress(out.Object.(*corev1.Service), cfg)
	if err != nil || ing == nil {
		t.Fatalf("DesiredIngress = %v, %v", ing, err)
	}
	if ing.Spec.Rules[0].Host != "web-alice.okteto.example.com" {
		t.Fatalf("host %q", ing.Spec.Rules[0].Host)
	}
}
