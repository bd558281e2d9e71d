package ingress_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

// TestTLS: SPEC 3, every host gets a spec.tls entry as tls.mode says.
func TestTLS(t *testing.T) {
	const (
		web    = "web-alice.okteto.example.com"
		api    = "api-alice.okteto.example.com"
		issuer = "cert-manager.io/cluster-issuer"
	)
	certManager := withTLS(config.TLSModeCertManager)
	runIngressCases(t, []ingCase{
		{
			name:        "default-certificate: hosts only, no secretName",
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + web + ",https://" + api},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}], tls: [{hosts: [" + web + ", " + api + "]}]}",
		},
		{
			name:        "default-certificate: a host the tenant covers is left alone",
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: my-cert}]}",
			annotations: map[string]string{endpointsKy: "https://" + web},
		},
		{
			name:        "default-certificate: joins the hosts-only entry",
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}], tls: [{hosts: [" + web + "]}]}",
			annotations: map[string]string{endpointsKy: "https://" + web + ",https://" + api},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}], tls: [{hosts: [" + web + ", " + api + "]}]}",
		},
		{
			name:        "default-certificate: an entry without hosts is not joined",
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}], tls: [{secretName: other}]}",
			annotations: map[string]string{endpointsKy: "https://" + web},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}], tls: [{secretName: other}, {hosts: [" + web + "]}]}",
		},
		{
			name:        "cert-manager: cluster issuer and <name>-tls",
			cfg:         certManager,
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + web, issuer: "letsencrypt"},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: web-tls}]}",
		},
		{
			name:        "cert-manager: one entry per Secret",
			cfg:         certManager,
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: web-tls}]}",
			annotations: map[string]string{endpointsKy: "https://" + web + ",https://" + api, issuer: "letsencrypt"},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}, {host: " + api + ", http: $HTTP}], tls: [{hosts: [" + web + ", " + api + "], secretName: web-tls}]}",
		},
		{
			name:        "cert-manager: the platform's cluster issuer replaces another",
			cfg:         certManager,
			meta:        "{name: web, annotations: {cert-manager.io/cluster-issuer: prod}}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: web-tls}]}",
			annotations: map[string]string{endpointsKy: "https://" + web, issuer: "letsencrypt"},
		},
		{
			name:        "cert-manager: the tenant's own Issuer is kept",
			cfg:         certManager,
			meta:        "{name: web, annotations: {cert-manager.io/issuer: mine}}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + web, "cert-manager.io/issuer": "mine"},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: web-tls}]}",
		},
		{
			name: "cert-manager: no metadata.name, no Secret name",
			cfg:  certManager,
			meta: "{generateName: web-}",
			spec: "{rules: [{host: " + web + ", http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeRequired, "spec.tls",
				"the host " + web + " has no spec.tls entry; tls.mode cert-manager gives every host one whose Secret is named after the Ingress (<name>-tls): set metadata.name instead of generateName"}},
			annotations: map[string]string{endpointsKy: "https://" + web, issuer: "letsencrypt"},
		},
		{
			name:        "none: TLS untouched",
			cfg:         withTLS(config.TLSModeNone),
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + web},
		},
		{
			name:        "none: generate-host still drops the replaced hosts",
			cfg:         withTLS(config.TLSModeNone),
			meta:        "{name: web, annotations: {dev.okteto.com/generate-host: 'true'}}",
			spec:        "{rules: [{host: myapp.example.org, http: $HTTP}], tls: [{hosts: [myapp.example.org], secretName: myapp}]}",
			warnings:    []string{"Ingress alice/web: dev.okteto.com/generate-host: the host " + web + " replaces myapp.example.org"},
			annotations: map[string]string{generateKy: "true", endpointsKy: "https://" + web},
			wantSpec:    "{rules: [{host: " + web + ", http: $HTTP}]}",
		},
		{
			name:        "cert-manager: generate-host moves the Secret to the new host",
			cfg:         certManager,
			meta:        "{name: web, annotations: {dev.okteto.com/generate-host: api}}",
			spec:        "{rules: [{host: " + web + ", http: $HTTP}], tls: [{hosts: [" + web + "], secretName: web-tls}]}",
			warnings:    []string{"Ingress alice/web: dev.okteto.com/generate-host: the host " + api + " replaces " + web},
			annotations: map[string]string{generateKy: "api", endpointsKy: "https://" + api, issuer: "letsencrypt"},
			wantSpec:    "{rules: [{host: " + api + ", http: $HTTP}], tls: [{hosts: [" + api + "], secretName: web-tls}]}",
		},
	})
}

// TestEndpoints: SPEC 3, devgate.dev/endpoints lists the hosts in rule order, each once.
func TestEndpoints(t *testing.T) {
	runIngressCases(t, []ingCase{
		{
			name:        "rule order, each host once, a stale value replaced",
			meta:        "{name: web, annotations: {devgate.dev/endpoints: 'https://evil.example.org'}}",
			spec:        "{rules: [{host: b-alice.okteto.example.com, http: $HTTP}, {host: a-alice.okteto.example.com, http: $HTTP}, {host: b-alice.okteto.example.com, http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://b-alice.okteto.example.com,https://a-alice.okteto.example.com"},
			wantSpec: "{rules: [{host: b-alice.okteto.example.com, http: $HTTP}, {host: a-alice.okteto.example.com, http: $HTTP}, {host: b-alice.okteto.example.com, http: $HTTP}], " +
				"tls: [{hosts: [b-alice.okteto.example.com, a-alice.okteto.example.com]}]}",
		},
		{
			name:    "no allowed host: the annotation goes",
			meta:    "{name: web, annotations: {devgate.dev/endpoints: 'https://web-alice.okteto.example.com'}}",
			spec:    "{rules: [{host: web.example.org, http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.rules[0].host", "the host is not under the domain okteto.example.com"}},
		},
	})
}
