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

var (
	_ policies.Mutator   = (*GuardedSecretPolicy)(nil)
	_ policies.Validator = (*GuardedSecretPolicy)(nil)
)

// NewGuardedSecretPolicy returns the guarded Secret policy.
func NewGuardedSecretPolicy() *GuardedSecretPolicy { return &GuardedSecretPolicy{} }

// Name implements policies.Policy.
func (*GuardedSecretPolicy) Name() string { return "guarded-secret" }

// Handles implements policies.Policy.
func (*GuardedSecretPolicy) Handles() []policies.Rule {
	// Mutate generates a value only for a key that is present and empty, in
	// data or stringData. Which key that is comes from tokens.guardedSecrets
	// (re-read on reload while the webhook configurations stay as they were
	// registered) or from an annotation, so the condition names no key: any
	// Secret CREATE with some empty (or null) value, or with stringData (the
	// API server merges it into data before admission; it is matched all the
	// same), reaches the mutating webhook. That covers every listed and every
	// labelled Secret the mutation changes, whatever the configuration says.
	// A Secret of more than 4096 keys (devgate's cap, policies/engine, which
	// denies it anyway) matches without a look at its values, so the loop
	// stays far within the API server's cost limit and never fails.
	const hasEmptyValue = `object != null && (has(object.stringData) ||
		(has(object.data) && (size(object.data) > 4096 ||
		object.data.exists(k, object.data[k] == null || object.data[k] == ""))))`
	// Validation has no match condition, for the same reason: every Secret
	// CREATE and UPDATE reaches the validating webhook (DELETE does not: this
	// rule does not cover it).
	return []policies.Rule{
		{GroupVersionKind: secretGVK, Resource: "secrets", Operations: []policies.Operation{policies.Create}, Mutating: true,
			MatchCondition: hasEmptyValue},
		validateRule(secretGVK, "secrets"),
	}
}

// Mutate generates the token of a guarded Secret on CREATE when its key is
// present and empty (`kubectl create secret generic keptn-api-token
// --from-literal=keptn-api-token=`), as for token Secrets. A missing key is
// left for Validate to deny: a Secret that does not name the key may not be
// meant to hold it. It never acts on UPDATE, and what it generates is not
// empty, so a second admission changes nothing.
func (*GuardedSecretPolicy) Mutate(req *policies.Request) policies.Result {
	s := asSecret(req.Object)
	if s == nil || req.Operation != policies.Create {
		return policies.Result{}
	}
	guards, _ := guardsOf(s, req.Config.Tokens.GuardedSecrets)
	var res policies.Result
	for _, g := range guards {
		// The token Secret policy generates a token Secret's token.
		if (s.Type == TypeToken && g.key == KeyToken) || !emptyKey(s, g.key) || !generatableKey(g.key) {
			continue
		}
		res.Warnings = append(res.Warnings, generateInto(s, g.key, req.Config.Tokens.MinLength))
	}
	return res
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
