// Package all lists every devgate policy. The webhook, the controller and the
// CLI build their engine from Every, so they all run the same set; the webhook
// configurations register the rules of Registered.
package all

import (
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// Policies returns the policies whose rules the webhook configurations
// register in the default configuration (endpoints.kind: ingress): the
// endpoint policies (SPEC 2-4) and the token policies (SPEC 5). It is
// Registered of the default configuration.
func Policies() []policies.Policy {
	return append(endpointPolicies(), tokenPolicies()...)
}

// Registered returns the policies whose rules the webhook configurations
// register under cfg: Policies, and the HTTPRoute policy when endpoints.kind
// is httproute. A cluster without the Gateway API is then never asked about
// HTTPRoutes. A nil cfg is the default configuration.
func Registered(cfg *config.Config) []policies.Policy {
	ps := Policies()
	if cfg != nil && cfg.HTTPRoutes() {
		ps = append(ps, gatewayPolicies()...)
	}
	return ps
}

// Every returns every policy, the HTTPRoute policy whatever the
// configuration: what the engine runs. `devgate check` thereby checks
// HTTPRoutes in any mode, and a reloaded configuration needs no new engine;
// what reaches the webhooks is decided by the configurations of Registered.
func Every() []policies.Policy {
	return append(Policies(), gatewayPolicies()...)
}

// Engine returns an engine over every policy.
func Engine() *engine.Engine { return engine.New(Every()...) }
