package ingress_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	pattern     = "must be <name>-alice.okteto.example.com or alice.okteto.example.com"
	endpointsKy = "devgate.dev/endpoints"
	generateKy  = "dev.okteto.com/generate-host"
	generateFld = "metadata.annotations[dev.okteto.com/generate-host]"
)

var (
	label63 = repeat("a", 57) + "-alice" // the longest first label
	label64 = repeat("a", 58) + "-alice"
)

// TestHosts: SPEC 3, every host inside the namespace's names.
func TestHosts(t *testing.T) {
	host63 := label63 + ".okteto.example.com"
	host64 := label64 + ".okteto.example.com"
	denied := func(host string, f, detail string) ingCase {
		return ingCase{
			meta:    "{name: web}",
			spec:    "{rules: [{host: '" + host + "', http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, f, detail + ": " + pattern}},
		}
	}
	named := func(name string, c ingCase) ingCase { c.name = name; return c }
	runIngressCases(t, []ingCase{
		{
			name:        "name and namespace",
			meta:        "{name: web}",
			spec:        "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://web-alice.okteto.example.com"},
			wantSpec:    "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [web-alice.okteto.example.com]}]}",
		},
		{
			name:        "namespace only",
			meta:        "{name: web}",
			spec:        "{rules: [{host: alice.okteto.example.com, http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://alice.okteto.example.com"},
			wantSpec:    "{rules: [{host: alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [alice.okteto.example.com]}]}",
		},
		{
			name:        "first label of 63 characters",
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + host63 + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + host63},
			wantSpec:    "{rules: [{host: " + host63 + ", http: $HTTP}], tls: [{hosts: [" + host63 + "]}]}",
		},
		named("first label of 64 characters", denied(host64, "spec.rules[0].host", `the first label "`+label64+`" is 64 characters long, at most 63 are allowed (the wildcard certificate covers exactly one DNS label)`)),
		named("wildcard", denied("*.okteto.example.com", "spec.rules[0].host", "wildcard hosts are not allowed")),
		named("another namespace's suffix", denied("web-bob.okteto.example.com", "spec.rules[0].host", `the first label "web-bob" does not end with the namespace "alice"`)),
		named("another namespace's host", denied("bob.okteto.example.com", "spec.rules[0].host", `the first label "bob" does not end with the namespace "alice"`)),
		named("foreign domain", denied("web-alice.example.org", "spec.rules[0].host", "the host is not under the domain okteto.example.com")),
		named("bare domain", denied("okteto.example.com", "spec.rules[0].host", "the bare domain okteto.example.com belongs to the platform")),
		named("upper case", denied("Web-alice.okteto.example.com", "spec.rules[0].host", "the host must be lower case")),
		named("trailing dot", denied("web-alice.okteto.example.com.", "spec.rules[0].host", "the host must not end with a dot")),
		named("two labels", denied("web.alice.okteto.example.com", "spec.rules[0].host", "only one label may precede okteto.example.com (the wildcard certificate *.okteto.example.com covers exactly one)")),
		named("internationalized", denied("wéb-alice.okteto.example.com", "spec.rules[0].host", "internationalized (non-ASCII) hosts are not allowed")),
		named("invalid punycode", denied("xn--abc-alice.okteto.example.com", "spec.rules[0].host", `the first label "xn--abc-alice" is not valid punycode (an xn-- label must encode a valid internationalized name)`)),
		{
			name: "valid punycode",
			ns:   "kva",
			meta: "{name: web}",
			// xn--bcher-kva is "bücher": its punycode happens to end with -kva.
			spec:        "{rules: [{host: xn--bcher-kva.okteto.example.com, http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://xn--bcher-kva.okteto.example.com"},
			wantSpec:    "{rules: [{host: xn--bcher-kva.okteto.example.com, http: $HTTP}], tls: [{hosts: [xn--bcher-kva.okteto.example.com]}]}",
		},
		{
			name: "foreign TLS host",
			meta: "{name: web}",
			spec: "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [web-alice.okteto.example.com], secretName: web}, {hosts: [web.example.org], secretName: other}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.tls[1].hosts[0]",
				"the host is not under the domain okteto.example.com: " + pattern}},
			annotations: map[string]string{endpointsKy: "https://web-alice.okteto.example.com"},
		},
		{
			name: "update to a foreign host",
			meta: "{name: web}", spec: "{rules: [{host: web.example.org, http: $HTTP}]}",
			oldMeta: "{name: web}", oldSpec: "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.rules[0].host", "the host is not under the domain okteto.example.com: " + pattern}},
		},
		{
			name:      "unmanaged namespace passes untouched",
			ns:        "kube-system",
			meta:      "{name: web}",
			spec:      "{rules: [{host: '*.example.org', http: $HTTP}]}",
			unhandled: true,
		},
	})
}

// TestGenerateHost: SPEC 3, dev.okteto.com/generate-host.
func TestGenerateHost(t *testing.T) {
	gen := func(v string) string { return "{name: web, annotations: {dev.okteto.com/generate-host: '" + v + "'}}" }
	webHost := "web-alice.okteto.example.com"
	runIngressCases(t, []ingCase{
		{
			name: "true replaces every rule and the TLS of the replaced hosts",
			meta: gen("true"),
			spec: "{rules: [{host: myapp.example.org, http: $HTTP}, {host: other.example.org, http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]}}], " +
				"tls: [{hosts: [myapp.example.org], secretName: myapp-tls}, {hosts: [other.example.org, keep-alice.okteto.example.com]}]}",
			warnings:    []string{"Ingress alice/web: dev.okteto.com/generate-host: the host web-alice.okteto.example.com replaces myapp.example.org, other.example.org and keeps only the paths of the first of 2 rules"},
			annotations: map[string]string{generateKy: "true", endpointsKy: "https://" + webHost},
			wantSpec:    "{rules: [{host: " + webHost + ", http: $HTTP}], tls: [{hosts: [keep-alice.okteto.example.com, " + webHost + "]}]}",
		},
		{
			name:        "true on a rule without host",
			meta:        gen("true"),
			spec:        "{rules: [{http: $HTTP}]}",
			annotations: map[string]string{generateKy: "true", endpointsKy: "https://" + webHost},
			wantSpec:    "{rules: [{host: " + webHost + ", http: $HTTP}], tls: [{hosts: [" + webHost + "]}]}",
		},
		{
			name:        "domain",
			meta:        gen("domain"),
			spec:        "{rules: [{http: $HTTP}]}",
			annotations: map[string]string{generateKy: "domain", endpointsKy: "https://alice.okteto.example.com"},
			wantSpec:    "{rules: [{host: alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [alice.okteto.example.com]}]}",
		},
		{
			name:        "a label",
			meta:        gen("api"),
			spec:        "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [web-alice.okteto.example.com]}]}",
			warnings:    []string{"Ingress alice/web: dev.okteto.com/generate-host: the host api-alice.okteto.example.com replaces web-alice.okteto.example.com"},
			annotations: map[string]string{generateKy: "api", endpointsKy: "https://api-alice.okteto.example.com"},
			wantSpec:    "{rules: [{host: api-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [api-alice.okteto.example.com]}]}",
		},
		{
			name:        "already generated: nothing to do",
			meta:        "{name: web, annotations: {dev.okteto.com/generate-host: 'api', devgate.dev/endpoints: 'https://api-alice.okteto.example.com'}}",
			spec:        "{rules: [{host: api-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [api-alice.okteto.example.com]}]}",
			annotations: map[string]string{generateKy: "api", endpointsKy: "https://api-alice.okteto.example.com"},
		},
		{
			name:        "false generates nothing",
			meta:        gen("false"),
			spec:        "{rules: [{host: app-alice.okteto.example.com, http: $HTTP}]}",
			annotations: map[string]string{generateKy: "false", endpointsKy: "https://app-alice.okteto.example.com"},
			wantSpec:    "{rules: [{host: app-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [app-alice.okteto.example.com]}]}",
		},
		{
			name:        "label of 63 characters",
			meta:        "{name: " + repeat("a", 57) + ", annotations: {dev.okteto.com/generate-host: 'true'}}",
			spec:        "{rules: [{http: $HTTP}]}",
			annotations: map[string]string{generateKy: "true", endpointsKy: "https://" + label63 + ".okteto.example.com"},
			wantSpec:    "{rules: [{host: " + label63 + ".okteto.example.com, http: $HTTP}], tls: [{hosts: [" + label63 + ".okteto.example.com]}]}",
		},
		{
			name: "label of 64 characters from the Ingress name",
			meta: "{name: " + repeat("a", 58) + ", annotations: {dev.okteto.com/generate-host: 'true'}}",
			spec: "{rules: [{host: web.example.org, http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, generateFld,
				"the generated host " + label64 + ".okteto.example.com is too long: the first label \"" + label64 + "\" is 64 characters long, at most 63 are allowed (the wildcard certificate covers exactly one DNS label): shorten the Ingress name \"" + repeat("a", 58) + "\" by at least 1 characters (to at most 57)"}},
			annotations: map[string]string{generateKy: "true"},
		},
		{
			name: "label of 64 characters from the annotation",
			meta: gen(repeat("x", 58)),
			spec: "{rules: [{http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, generateFld,
				"is 64 characters long, at most 63 are allowed (the wildcard certificate covers exactly one DNS label): shorten the generate-host label"}},
			annotations: map[string]string{generateKy: repeat("x", 58)},
		},
		{
			name:        "invalid value: upper case",
			meta:        gen("API"),
			spec:        "{rules: [{host: web.example.org, http: $HTTP}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, generateFld, `must be "true", "domain" or a DNS label such as "api"`}},
			annotations: map[string]string{generateKy: "API"},
		},
		{
			name:        "invalid value: empty",
			meta:        gen(""),
			spec:        "{rules: [{http: $HTTP}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, generateFld, `must be "true", "domain" or a DNS label such as "api"`}},
			annotations: map[string]string{generateKy: ""},
		},
		{
			name:        "invalid value: a domain",
			meta:        gen("api.example.org"),
			spec:        "{rules: [{http: $HTTP}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, generateFld, `must be "true", "domain" or a DNS label such as "api"`}},
			annotations: map[string]string{generateKy: "api.example.org"},
		},
		{
			name:        "true without metadata.name",
			meta:        "{generateName: web-, annotations: {dev.okteto.com/generate-host: 'true'}}",
			spec:        "{rules: [{http: $HTTP}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, generateFld, "metadata.name is not set"}},
			annotations: map[string]string{generateKy: "true"},
		},
	})
}

// TestCatchAll: SPEC 3, a rule without host is treated as generate-host "true".
func TestCatchAll(t *testing.T) {
	webHost := "web-alice.okteto.example.com"
	runIngressCases(t, []ingCase{
		{
			name:        "rule without host",
			meta:        "{name: web}",
			spec:        "{rules: [{http: $HTTP}]}",
			warnings:    []string{`Ingress alice/web: a rule without host catches every tenant's traffic: gave spec.rules[0] the host web-alice.okteto.example.com, as with dev.okteto.com/generate-host: "true"`},
			annotations: map[string]string{endpointsKy: "https://" + webHost},
			wantSpec:    "{rules: [{host: " + webHost + ", http: $HTTP}], tls: [{hosts: [" + webHost + "]}]}",
		},
		{
			name:        "only the rules without host get it",
			meta:        "{name: web}",
			spec:        "{rules: [{host: api-alice.okteto.example.com, http: $HTTP}, {http: $HTTP}]}",
			warnings:    []string{`Ingress alice/web: a rule without host catches every tenant's traffic: gave spec.rules[1] the host web-alice.okteto.example.com, as with dev.okteto.com/generate-host: "true"`},
			annotations: map[string]string{endpointsKy: "https://api-alice.okteto.example.com,https://" + webHost},
			wantSpec:    "{rules: [{host: api-alice.okteto.example.com, http: $HTTP}, {host: " + webHost + ", http: $HTTP}], tls: [{hosts: [api-alice.okteto.example.com, " + webHost + "]}]}",
		},
		{
			name:        "default backend without rules",
			meta:        "{name: web}",
			spec:        "{defaultBackend: {service: {name: web, port: {number: 80}}}}",
			warnings:    []string{`Ingress alice/web: an Ingress without rules sends every host's traffic to spec.defaultBackend: added a rule for web-alice.okteto.example.com, as with dev.okteto.com/generate-host: "true"`},
			annotations: map[string]string{endpointsKy: "https://" + webHost},
			wantSpec:    "{defaultBackend: {service: {name: web, port: {number: 80}}}, rules: [{host: " + webHost + "}], tls: [{hosts: [" + webHost + "]}]}",
		},
		{
			name:    "rule without host, name too long",
			meta:    "{name: " + repeat("a", 58) + "}",
			spec:    "{rules: [{http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeRequired, "spec.rules[0].host", "a rule without host catches every tenant's traffic: it would get a host as with dev.okteto.com/generate-host: \"true\", but the generated host " + label64 + ".okteto.example.com is too long"}},
		},
		{
			name:    "rule without host, no metadata.name",
			meta:    "{generateName: web-}",
			spec:    "{rules: [{http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeRequired, "spec.rules[0].host", "metadata.name is not set"}},
		},
		{
			name:    "default backend without rules, name too long",
			meta:    "{name: " + repeat("a", 58) + "}",
			spec:    "{defaultBackend: {service: {name: web, port: {number: 80}}}}",
			denials: []wantErr{{field.ErrorTypeRequired, "spec.rules", "an Ingress without rules sends every host's traffic to spec.defaultBackend"}},
		},
	})
}
