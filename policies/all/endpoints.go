package all

import (
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/namespace"
	"devgate.dev/devgate/policies/service"
)

// endpointPolicies are the Service, Ingress and private-endpoint policies,
// and the Namespace policy that keeps host ownership (SPEC 3).
func endpointPolicies() []policies.Policy {
	return []policies.Policy{service.New(), ingress.New(), namespace.New()}
}

// gatewayPolicies are the Gateway API policies: tenants' HTTPRoutes. Their
// rules are registered only in HTTPRoute mode (Registered).
func gatewayPolicies() []policies.Policy {
	return []policies.Policy{httproute.New()}
}
