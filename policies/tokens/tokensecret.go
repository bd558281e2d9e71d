package tokens

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
)

// TokenSecretPolicy enforces SPEC 5.1 on Secrets of type devgate.dev/token,
// after the rules of Rancher's Token API: a token belongs to the user who
// created it, its TTL is bounded, only admins extend it, and what identifies
// it never changes.
type TokenSecretPolicy struct{}

var (
	_ policies.Mutator   = (*TokenSecretPolicy)(nil)
	_ policies.Validator = (*TokenSecretPolicy)(nil)
)

// NewTokenSecretPolicy returns the token Secret policy.
func NewTokenSecretPolicy() *TokenSecretPolicy { return &TokenSecretPolicy{} }

// Name implements policies.Policy.
func (*TokenSecretPolicy) Name() string { return "token-secret" }

// Handles implements policies.Policy. Mutation only happens on CREATE, so the
// mutating webhook is registered for CREATE alone.
func (*TokenSecretPolicy) Handles() []policies.Rule {
	// Mutate changes only a token Secret whose token, user-id or ttl is
	// missing or empty (a null value decodes as empty too). stringData would
	// take precedence over data, but the API server merges it into data
	// before admission; it is matched all the same.
	const fillsDefaults = `object != null && has(object.type) && object.type == "devgate.dev/token" &&
		(has(object.stringData) || !has(object.data) ||
		!("token" in object.data) || object.data["token"] == null || object.data["token"] == "" ||
		!("user-id" in object.data) || object.data["user-id"] == null || object.data["user-id"] == "" ||
		!("ttl" in object.data) || object.data["ttl"] == null || object.data["ttl"] == "")`
	// Validate judges only a token Secret: the one created or updated
	// (object), one turned into another type and one deleted (oldObject).
	const isToken = `(object != null && has(object.type) && object.type == "devgate.dev/token") ||
		(oldObject != null && has(oldObject.type) && oldObject.type == "devgate.dev/token")`
	return []policies.Rule{
		{GroupVersionKind: secretGVK, Resource: "secrets", Operations: []policies.Operation{policies.Create}, Mutating: true,
			MatchCondition: fillsDefaults},
		{GroupVersionKind: secretGVK, Resource: "secrets", Operations: []policies.Operation{policies.Create, policies.Update, policies.Delete}, Validating: true,
			MatchCondition: isToken},
	}
}

// knownTokenKeys are the keys of SPEC 5.1, in the order they are documented.
var knownTokenKeys = []string{KeyToken, KeyUserID, KeyKind, KeyDescription, KeyTTL, KeyEnabled}

// Mutate fills in the defaults on CREATE: an empty token becomes a generated
// one (GenerateToken, as Rancher generates a new token's value), an empty
// user-id the requester's username, an empty ttl tokens.maxTTL. What it
// fills in is no longer empty, so a second admission changes nothing. The
// warning about a generated token names its path, never the value; the
// value itself is in the patch, which is how the API server stores it.
func (*TokenSecretPolicy) Mutate(req *policies.Request) policies.Result {
	s := secretOfType(req.Object, TypeToken)
	if s == nil || req.Operation != policies.Create {
		return policies.Result{}
	}
	var res policies.Result
	if secretValue(s, KeyToken) == "" {
		res.Warnings = append(res.Warnings, generateInto(s, KeyToken, req.Config.Tokens.MinLength))
	}
	if secretValue(s, KeyUserID) == "" && req.User.Username != "" {
		setSecretValue(s, KeyUserID, req.User.Username)
	}
	if secretValue(s, KeyTTL) == "" {
		setSecretValue(s, KeyTTL, fmt.Sprint(req.Config.MaxTTLMillis()))
	}
	return res
}

// Validate implements policies.Validator.
func (*TokenSecretPolicy) Validate(req *policies.Request) policies.Result {
	switch req.Operation {
	case policies.Create:
		if s := secretOfType(req.Object, TypeToken); s != nil {
			return validateTokenCreate(req, s)
		}
	case policies.Update:
		s, old := secretOfType(req.Object, TypeToken), secretOfType(req.OldObject, TypeToken)
		switch {
		case s != nil:
			if old == nil {
				// Only the CLI can get here (the API server keeps a Secret's
				// type): compare against an empty token, which denies every
				// immutable field that is set.
				old = &corev1.Secret{}
			}
			return validateTokenUpdate(req, old, s)
		case old != nil:
			// A token Secret turned into another type is gone as a token:
			// only those who may delete it may do that.
			return deniedBy(checkTokenOwner(req, old, "update"))
		}
	case policies.Delete:
		// The cluster's own deleters (namespace deletion, garbage collection
		// of an owner) delete for nobody in particular: denying them would
		// leave a namespace stuck in Terminating.
		if old := secretOfType(req.OldObject, TypeToken); old != nil && !req.Config.IsSystemDeleter(req.User.Username) {
			return deniedBy(checkTokenOwner(req, old, "delete"))
		}
	}
	return policies.Result{}
}

func validateTokenCreate(req *policies.Request, s *corev1.Secret) policies.Result {
	var res policies.Result
	maxTTL := req.Config.MaxTTLMillis()

	// The token's strength is checked here only: on UPDATE it cannot change.
	// Unlike an empty user-id, an empty token is not judged as filled in: in
	// the cluster the mutating webhook has generated one before this runs,
	// and should it not have, an empty token must not be stored.
	if v := secretValue(s, KeyToken); v == "" {
		res.Denials = append(res.Denials, field.Required(secretPath(s, KeyToken), fmt.Sprintf(
			"a token Secret must hold a strong token of at least %d printable ASCII characters", req.Config.Tokens.MinLength)))
	} else if err := CheckStrength(v, req.Config.Tokens.MinLength); err != nil {
		res.Denials = append(res.Denials, field.Invalid(secretPath(s, KeyToken), Redacted, "the token "+err.Error()))
	}

	// An empty user-id is what the mutator fills in; judge it as filled in, so
	// validation alone (without the mutating webhook) agrees with admission.
	userID := secretValue(s, KeyUserID)
	if userID == "" {
		userID = req.User.Username
	}
	switch {
	case userID == "":
		res.Denials = append(res.Denials, field.Required(secretPath(s, KeyUserID), "the user the token belongs to"))
	case userID != req.User.Username && !req.IsAdmin():
		res.Denials = append(res.Denials, field.Forbidden(secretPath(s, KeyUserID), fmt.Sprintf(
			"a token is created only for the requesting user %q; only admins (tokens.adminGroups) may create one for another user",
			shown(req.User.Username))))
	}

	if d := checkKind(s); d != nil {
		res.Denials = append(res.Denials, d)
	}
	ttl, d := tokenTTL(s, maxTTL)
	if d != nil {
		res.Denials = append(res.Denials, d)
	}
	if d := checkEnabled(s); d != nil {
		res.Denials = append(res.Denials, d)
	}

	res.Warnings = append(res.Warnings, unknownKeyWarnings(s)...)
	if len(res.Denials) == 0 {
		res.Warnings = append(res.Warnings, longTTLWarnings(s, ttl, maxTTL)...)
	}
	return res
}

func validateTokenUpdate(req *policies.Request, old, s *corev1.Secret) policies.Result {
	var res policies.Result
	maxTTL := req.Config.MaxTTLMillis()

	// Ownership comes from the stored object, so nobody takes a token over by
	// rewriting user-id in the same update. A non-owner hears nothing else:
	// an "immutable" denial (or its absence) would tell whether a guessed
	// token equals the stored one.
	if d := checkTokenOwner(req, old, "update"); d != nil {
		return deniedBy(d)
	}

	for _, key := range []string{KeyToken, KeyUserID, KeyKind} {
		if sameSecret(secretValue(s, key), secretValue(old, key)) {
			continue
		}
		bad := Redacted
		if key != KeyToken {
			bad = shownValue(s, key)
		}
		res.Denials = append(res.Denials, field.Invalid(secretPath(s, key), bad, key+" is immutable: create a new token Secret instead"))
	}

	ttl, d := tokenTTL(s, maxTTL)
	if d != nil {
		res.Denials = append(res.Denials, d)
	} else if !req.IsAdmin() {
		stored, storedOK := storedTTL(old, maxTTL)
		if ttl > stored {
			what := fmt.Sprintf("the stored %d milliseconds", stored)
			if !storedOK {
				what = "the stored value, which is not a valid ttl"
			}
			res.Denials = append(res.Denials, field.Forbidden(secretPath(s, KeyTTL), fmt.Sprintf(
				"only admins (tokens.adminGroups) may increase ttl beyond %s; any user may reduce it", what)))
		}
	}
	if d := checkEnabled(s); d != nil {
		res.Denials = append(res.Denials, d)
	} else if d := checkReenable(req, old, s); d != nil {
		res.Denials = append(res.Denials, d)
	}

	res.Warnings = append(res.Warnings, unknownKeyWarnings(s)...)
	if len(res.Denials) == 0 {
		// A token that predates devgate stays usable for what makes it safer
		// (disabling it, shortening it), but its owner hears about it.
		if v := secretValue(s, KeyToken); v != "" {
			if err := CheckStrength(v, req.Config.Tokens.MinLength); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: the token %v; replace it with a new token Secret", secretPath(s, KeyToken), err))
			}
		}
		res.Warnings = append(res.Warnings, longTTLWarnings(s, ttl, maxTTL)...)
		res.Warnings = append(res.Warnings, expiredWarnings(old, req)...)
	}
	return res
}

// expiredWarnings warns that the stored token has expired (Expiry): the
// update is allowed, but the token signs nobody in any more. devgate check
// shows it for a token Secret given with --old.
func expiredWarnings(old *corev1.Secret, req *policies.Request) []string {
	exp, err := Expiry(old, req.Config)
	if err != nil || now().Before(exp) {
		return nil
	}
	return []string{fmt.Sprintf("%s: the token expired at %s (its creation time plus its ttl): it is refused at sign-in; create a new token Secret",
		secretPath(old, KeyTTL), exp.UTC().Format(time.RFC3339))}
}

// checkReenable denies a non-admin who turns a disabled token back on:
// disabling is how an admin suspends a user's token, and the owner must not
// be able to undo it. Empty enabled means enabled.
func checkReenable(req *policies.Request, old, s *corev1.Secret) *field.Error {
	if secretValue(old, KeyEnabled) != "false" || secretValue(s, KeyEnabled) == "false" || req.IsAdmin() {
		return nil
	}
	return field.Forbidden(secretPath(s, KeyEnabled),
		"only admins (tokens.adminGroups) may enable a disabled token; any user may disable one")
}

// checkTokenOwner denies a non-admin who is not the token's user-id.
func checkTokenOwner(req *policies.Request, old *corev1.Secret, verb string) *field.Error {
	owner := secretValue(old, KeyUserID)
	if req.IsAdmin() || (owner != "" && owner == req.User.Username) {
		return nil
	}
	return field.Forbidden(secretPath(old, KeyUserID), fmt.Sprintf(
		"only the token's owner (user-id) or an admin (tokens.adminGroups) may %s this token Secret", verb))
}

// tokenTTL reads and checks the ttl (reported under secretPath(s, KeyTTL)).
// An empty ttl counts as maxTTL, the value the mutator sets on CREATE; on
// UPDATE, emptying it asks for the maximum, an increase like any other.
func tokenTTL(s *corev1.Secret, maxTTL int64) (int64, *field.Error) {
	v := secretValue(s, KeyTTL)
	if v == "" {
		return maxTTL, nil
	}
	ttl, err := ValidateTTL(v, maxTTL)
	if err != nil {
		return 0, field.Invalid(secretPath(s, KeyTTL), shownValue(s, KeyTTL), "ttl "+err.Error())
	}
	return ttl, nil
}

// storedTTL is the stored object's ttl for the "only admins increase" rule.
// Empty is the maximum it was defaulted to. A value devgate cannot parse counts
// as 0 (and ok is false): turning it into a valid ttl could bring an expired
// token back, which is for an admin to decide. A stored value beyond today's
// maxTTL (the setting was lowered) counts as written.
func storedTTL(old *corev1.Secret, maxTTL int64) (ttl int64, ok bool) {
	v := secretValue(old, KeyTTL)
	if v == "" {
		return maxTTL, true
	}
	ttl, err := ParseTTL(v)
	if err != nil || ttl <= 0 {
		return 0, false
	}
	return ttl, true
}

func checkKind(s *corev1.Secret) *field.Error {
	if v := secretValue(s, KeyKind); v == "" || v == KindSession || v == KindDerived {
		return nil
	}
	d := field.NotSupported(secretPath(s, KeyKind), shownValue(s, KeyKind), []string{KindSession, KindDerived})
	d.Detail += " (empty means derived)"
	return d
}

func checkEnabled(s *corev1.Secret) *field.Error {
	if v := secretValue(s, KeyEnabled); v == "" || v == "true" || v == "false" {
		return nil
	}
	return field.NotSupported(secretPath(s, KeyEnabled), shownValue(s, KeyEnabled), []string{"true", "false"})
}

// unknownKeyWarnings warns, without denying, about keys SPEC 5.1 does not
// know: most are typos ("user_id", "TTL") that would silently leave a default
// in place.
func unknownKeyWarnings(s *corev1.Secret) []string {
	var unknown []string
	for k := range secretKeys(s) {
		if !slices.Contains(knownTokenKeys, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	warnings := make([]string, 0, len(unknown))
	for _, k := range unknown {
		warnings = append(warnings, fmt.Sprintf("%s: unknown key of a token Secret; the keys are %s",
			shownPath(secretPath(s, k), k), strings.Join(knownTokenKeys, ", ")))
	}
	return warnings
}

// shownPath renders the path of a key a user chose, cut short like any echoed value.
func shownPath(path *field.Path, key string) string {
	if len(key) <= maxShown {
		return path.String()
	}
	return path.Root().Key(shown(key)).String()
}

// longTTLWarnings warns about a token Secret s allowed with a ttl of more than
// 80% of maxTTL: a long-lived token is the one most likely to leak while
// still valid.
func longTTLWarnings(s *corev1.Secret, ttl, maxTTL int64) []string {
	// ttl <= maxTTL <= MaxInt64/1e6 (it comes from a time.Duration): no overflow.
	if ttl*5 <= maxTTL*4 {
		return nil
	}
	return []string{fmt.Sprintf("%s: ttl of %d milliseconds (%s) is more than 80%% of the maximum of %s; prefer a shorter-lived token",
		secretPath(s, KeyTTL), ttl, HumanMillis(ttl), HumanMillis(maxTTL))}
}

func deniedBy(d *field.Error) policies.Result {
	if d == nil {
		return policies.Result{}
	}
	return policies.Result{Denials: field.ErrorList{d}}
}
