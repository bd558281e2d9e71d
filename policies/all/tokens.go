package all

import (
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

// tokenPolicies are the token Secret, guarded Secret, ServiceAccount label and
// OIDC connector policies (SPEC 5).
func tokenPolicies() []policies.Policy {
	return []policies.Policy{
		tokens.NewTokenSecretPolicy(),
		tokens.NewGuardedSecretPolicy(),
		tokens.NewServiceAccountPolicy(),
		tokens.NewOIDCConnectorPolicy(),
	}
}
