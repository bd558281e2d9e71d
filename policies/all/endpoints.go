package all

import (
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/service"
)

// endpointPolicies are the Service, Ingress and private-endpoint policies.
func endpointPolicies() []policies.Policy {
	return []policies.Policy{service.New(), ingress.New()}
}
