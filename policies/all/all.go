// Package all lists every devgate policy. The webhook, the controller and the
// CLI build their engine from Policies, so they all run the same set.
package all

import (
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/engine"
)

// Policies returns devgate's policies: the endpoint policies (SPEC 2-4) and the
// token policies (SPEC 5).
func Policies() []policies.Policy {
	return append(endpointPolicies(), tokenPolicies()...)
}

// Engine returns an engine over every policy.
func Engine() *engine.Engine { return engine.New(Policies()...) }
