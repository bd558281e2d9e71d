package ingress_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

// TestHostOwnership: SPEC 3, a host belongs to the existing managed namespace
// with the longest name it fits; an Ingress of any other namespace is denied
// it, in rules and TLS hosts alike, the message naming the owner.
func TestHostOwnership(t *testing.T) {
	const (
		teamHost = "web-team-a.okteto.example.com"
		owned    = `the host belongs to the namespace "team-a": "web-team-a" ends with "-team-a", and a host belongs to the existing namespace with the longest name it fits`
		patternA = "must be <name>-a.okteto.example.com or a.okteto.example.com"
	)
	runIngressCases(t, []ingCase{
		{
			name: "another namespace's endpoint through a shorter suffix",
			ns:   "a", existing: []string{"a", "team-a"},
			meta:    "{name: web}",
			spec:    "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.rules[0].host", owned + ": " + patternA}},
			// A denied host gets no TLS entry and is not recorded: that
			// would only repeat the denial.
		},
		{
			name: "TLS host of another namespace",
			ns:   "a", existing: []string{"team-a"},
			meta:        "{name: web}",
			spec:        "{rules: [{host: api-a.okteto.example.com, http: $HTTP}], tls: [{hosts: [api-a.okteto.example.com, " + teamHost + "], secretName: web}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, "spec.tls[0].hosts[1]", owned + ": " + patternA}},
			annotations: map[string]string{endpointsKy: "https://api-a.okteto.example.com"},
		},
		{
			name: "the owner itself",
			ns:   "team-a", existing: []string{"a", "team-a"},
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + teamHost},
			wantSpec:    "{rules: [{host: " + teamHost + ", http: $HTTP}], tls: [{hosts: [" + teamHost + "]}]}",
		},
		{
			name: "no longer namespace exists",
			ns:   "a", existing: []string{"a", "b"},
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + teamHost},
			wantSpec:    "{rules: [{host: " + teamHost + ", http: $HTTP}], tls: [{hosts: [" + teamHost + "]}]}",
		},
		{
			name: "the longer namespace is not managed",
			ns:   "a", existing: []string{"team-a"},
			cfg:         func(c *config.Config) { c.ExcludedNamespaces = append(c.ExcludedNamespaces, "team-a") },
			meta:        "{name: web}",
			spec:        "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
			annotations: map[string]string{endpointsKy: "https://" + teamHost},
			wantSpec:    "{rules: [{host: " + teamHost + ", http: $HTTP}], tls: [{hosts: [" + teamHost + "]}]}",
		},
		{
			name: "a namespace's own bare host is its own",
			ns:   "a", existing: []string{"web-team-a", "team-a"},
			meta: "{name: web}",
			spec: "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
			denials: []wantErr{{field.ErrorTypeInvalid, "spec.rules[0].host",
				`the host belongs to the namespace "web-team-a": it is that namespace's own host web-team-a.okteto.example.com: ` + patternA}},
		},
		{
			name: "generated host of another namespace",
			ns:   "a", existing: []string{"team-a"},
			meta:        "{name: web, annotations: {dev.okteto.com/generate-host: web-team}}",
			spec:        "{rules: [{host: '', http: $HTTP}]}",
			denials:     []wantErr{{field.ErrorTypeInvalid, "spec.rules[0].host", owned + ": " + patternA}},
			annotations: map[string]string{generateKy: "web-team"},
			wantSpec:    "{rules: [{host: " + teamHost + ", http: $HTTP}]}",
		},
	})
}
