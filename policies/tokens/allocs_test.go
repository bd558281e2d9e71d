package tokens_test

import (
	"testing"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/bench/objects"
)

// TestReviewAllocations holds the token policies to no allocation of their own
// when they admit the benchmark's token Secret and labelled ServiceAccount
// (BenchmarkReview in policies/all): values are read and checked in place,
// and field paths are built only for denials and warnings.
func TestReviewAllocations(t *testing.T) {
	cfg := config.Default()
	for _, c := range []struct {
		name     string
		i        int // objects.Object(i)
		policies []policies.Policy
	}{
		{"Secret", 2, []policies.Policy{tokens.NewTokenSecretPolicy(), tokens.NewGuardedSecretPolicy(), tokens.NewOIDCConnectorPolicy()}},
		{"ServiceAccount", 3, []policies.Policy{tokens.NewServiceAccountPolicy()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &policies.Request{Operation: policies.Create, Object: objects.Object(c.i), User: objects.Requester,
				Config: cfg, Lookup: policies.NoLookup{}}
			for _, p := range c.policies {
				if m, ok := p.(policies.Mutator); ok {
					m.Mutate(req) // fills nothing in: the Secret has a user-id and a ttl
					if n := testing.AllocsPerRun(100, func() { m.Mutate(req) }); n > 0 {
						t.Errorf("%s: Mutate: %v allocations, want none", p.Name(), n)
					}
				}
				v := p.(policies.Validator)
				if res := v.Validate(req); len(res.Denials) > 0 || len(res.Warnings) > 0 {
					t.Fatalf("%s: %v, warnings %q", p.Name(), res.Denials, res.Warnings)
				}
				if n := testing.AllocsPerRun(100, func() { v.Validate(req) }); n > 0 {
					t.Errorf("%s: Validate: %v allocations, want none", p.Name(), n)
				}
			}
		})
	}
}
