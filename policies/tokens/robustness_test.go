package tokens_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

// TestOddObjects calls the policies directly with objects the engine never
// builds (nil, typed nil, other kinds, empty Secrets): each answers with an
// empty or well-formed Result and never panics.
func TestOddObjects(t *testing.T) {
	objects := []runtime.Object{
		nil,
		(*corev1.Secret)(nil),
		(*corev1.ServiceAccount)(nil),
		&corev1.ConfigMap{},
		&corev1.Secret{},
		&corev1.Secret{Type: tokens.TypeToken},
		&corev1.Secret{Type: tokens.TypeOIDCConnector},
		&corev1.Secret{Type: tokens.TypeToken, StringData: map[string]string{"ttl": ""}},
		&corev1.ServiceAccount{},
	}
	ps := []policies.Policy{tokens.NewTokenSecretPolicy(), tokens.NewGuardedSecretPolicy(), tokens.NewServiceAccountPolicy(), tokens.NewOIDCConnectorPolicy()}
	for _, p := range ps {
		for _, op := range []policies.Operation{policies.Create, policies.Update, policies.Delete, "CONNECT"} {
			for _, o := range objects {
				for _, old := range objects {
					req := &policies.Request{Operation: op, Object: o, OldObject: old, User: bob, Config: testConfig(), Lookup: nil}
					if m, ok := p.(policies.Mutator); ok {
						if r := m.Mutate(req); len(r.Denials) != 0 {
							t.Errorf("%s: Mutate denied: %v", p.Name(), r.Denials)
						}
					}
					p.(policies.Validator).Validate(req)
				}
			}
		}
	}
	// Objects of another kind or type are not owned: empty results.
	for _, p := range ps {
		for _, o := range []runtime.Object{nil, &corev1.ConfigMap{}, &corev1.Secret{Type: "Opaque"}} {
			req := &policies.Request{Operation: policies.Create, Object: o, User: bob, Config: testConfig()}
			if r := p.(policies.Validator).Validate(req); len(r.Denials)+len(r.Warnings) != 0 {
				t.Errorf("%s on %T: %+v", p.Name(), o, r)
			}
		}
	}
}
