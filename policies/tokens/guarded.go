package tokens

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
)

// GuardedSecretPolicy enforces SPEC 5.2: a Secret that holds a token under one
// key (Keptn's keptn-api-token is the model) must hold a strong one. A Secret
// is guarded when tokens.guardedSecrets lists it, or when it is labelled
// devgate.dev/guard=token, with the key named by the devgate.dev/token-key
// annotation (default "token"). Both may apply, with different keys.
type GuardedSecretPolicy struct{}

var _ policies.Validator = (*GuardedSecretPolicy)(nil)

// NewGuardedSecretPolicy returns the guarded Secret policy.
func NewGuardedSecretPolicy() *GuardedSecretPolicy { return &GuardedSecretPolicy{} }

// Name implements policies.Policy.
func (*GuardedSecretPolicy) Name() string { return "guarded-secret" }

// Handles implements policies.Policy.
func (*GuardedSecretPolicy) Handles() []policies.Rule {
	// No match condition: a Secret of any type is guarded when
	// tokens.guardedSecrets lists its namespace and name, and that list is
	// re-read on reload while the webhook configurations stay as they were
	// registered. So every Secret CREATE and UPDATE reaches the validating
	// webhook (DELETE does not: this rule does not cover it).
	return []policies.Rule{validateRule(secretGVK, "secrets")}
}

var guardLabelPath = field.NewPath("metadata", "labels").Key(LabelGuard)

// guard is one reason a Secret is guarded: the key it must hold, and why.
type guard struct{ key, why string }

// Validate implements policies.Validator. It checks the value on every CREATE
// and UPDATE: a guarded Secret exists to hold its token, so an update to it is
// in practice an update of the token.
func (*GuardedSecretPolicy) Validate(req *policies.Request) policies.Result {
	s := asSecret(req.Object)
	if s == nil {
		return policies.Result{}
	}
	var res policies.Result
	guards, d := guardsOf(s, req.Config.Tokens.GuardedSecrets)
	if d != nil {
		res.Denials = append(res.Denials, d)
	}
	for _, g := range guards {
		// The token Secret policy already checks a token Secret's token.
		if s.Type == TypeToken && g.key == KeyToken {
			continue
		}
		v := secretValue(s, g.key)
		if v == "" {
			res.Denials = append(res.Denials, field.Required(secretPath(s, g.key), fmt.Sprintf(
				"%s: must hold a strong token of at least %d printable ASCII characters under key %q",
				g.why, req.Config.Tokens.MinLength, shown(g.key))))
			continue
		}
		if err := CheckStrength(v, req.Config.Tokens.MinLength); err != nil {
			res.Denials = append(res.Denials, field.Invalid(secretPath(s, g.key), Redacted, fmt.Sprintf("%s: the token %v", g.why, err)))
		}
	}
	return res
}

// guardsOf lists why s is guarded, one entry per distinct key. A guard label
// with a value other than "token" is denied rather than ignored: the user meant
// to guard the Secret, and a typo must not leave it unguarded in silence.
func guardsOf(s *corev1.Secret, listed []config.GuardedSecret) ([]guard, *field.Error) {
	var guards []guard
	add := func(key, why string) {
		if !slices.ContainsFunc(guards, func(g guard) bool { return g.key == key }) {
			guards = append(guards, guard{key, why})
		}
	}
	for _, g := range listed {
		if g.Namespace == s.Namespace && g.Name == s.Name && s.Name != "" {
			add(g.Key, "listed in tokens.guardedSecrets")
		}
	}
	v, labelled := s.Labels[LabelGuard]
	switch {
	case !labelled:
		return guards, nil
	case v != GuardToken:
		return guards, field.NotSupported(guardLabelPath, shown(v), []string{GuardToken})
	}
	key := s.Annotations[AnnotationTokenKey]
	if key == "" {
		key = DefaultGuardedKey
	}
	add(key, fmt.Sprintf("labelled %s=%s", LabelGuard, GuardToken))
	return guards, nil
}
