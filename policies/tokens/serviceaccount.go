package tokens

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
)

// ServiceAccountPolicy enforces SPEC 5.3 on the labels Okteto keeps a user's
// token in: dev.okteto.com/token (the token) and dev.okteto.com/external-id
// (the user). Whoever can set them can mint a login, so only tokens.issuers
// and admins may add, change or remove them, and what they set must be a
// strong token that no other ServiceAccount carries.
type ServiceAccountPolicy struct{}

var _ policies.Validator = (*ServiceAccountPolicy)(nil)

// NewServiceAccountPolicy returns the ServiceAccount token label policy.
func NewServiceAccountPolicy() *ServiceAccountPolicy { return &ServiceAccountPolicy{} }

// Name implements policies.Policy.
func (*ServiceAccountPolicy) Name() string { return "serviceaccount-token" }

// Handles implements policies.Policy.
func (*ServiceAccountPolicy) Handles() []policies.Rule {
	// Validate judges nothing unless one of the two labels is on the
	// ServiceAccount or was on the stored one: labels absent from both are
	// unchanged, and unchanged labels are never judged.
	r := validateRule(serviceAccountGVK, "serviceaccounts")
	r.MatchCondition = `(object != null && has(object.metadata.labels) &&
		("dev.okteto.com/token" in object.metadata.labels || "dev.okteto.com/external-id" in object.metadata.labels)) ||
		(oldObject != null && has(oldObject.metadata.labels) &&
		("dev.okteto.com/token" in oldObject.metadata.labels || "dev.okteto.com/external-id" in oldObject.metadata.labels))`
	return []policies.Rule{r}
}

var (
	labelsPath = field.NewPath("metadata", "labels")
	// tokenLabelPath is built once: every labelled ServiceAccount's review
	// would otherwise build it for denials it almost never makes.
	tokenLabelPath = labelsPath.Key(LabelToken)
)

// Validate implements policies.Validator.
func (*ServiceAccountPolicy) Validate(req *policies.Request) policies.Result {
	sa := asServiceAccount(req.Object)
	if sa == nil {
		return policies.Result{}
	}
	var oldLabels map[string]string
	if req.Operation == policies.Update {
		if old := asServiceAccount(req.OldObject); old != nil {
			oldLabels = old.Labels
		}
	}

	var res policies.Result
	privileged := req.IsAdmin() || req.Config.IsIssuer(req.User.Username)
	changed := false
	for _, label := range []string{LabelToken, LabelExternalID} {
		was, had := oldLabels[label]
		v, has := sa.Labels[label]
		if had == has && sameSecret(was, v) {
			continue
		}
		changed = true
		if privileged {
			continue
		}
		verb := "change"
		switch {
		case !had:
			verb = "add"
		case !has:
			verb = "remove"
		}
		res.Denials = append(res.Denials, field.Forbidden(labelsPath.Key(label), fmt.Sprintf(
			"only token issuers (tokens.issuers) or admins (tokens.adminGroups) may %s this label", verb)))
	}
	// An unprivileged requester learns nothing more, above all not whether
	// another ServiceAccount carries the token they tried. Labels left as they
	// were are not judged again: a ServiceAccount that predates devgate must
	// still take unrelated updates, such as those of the controller manager.
	if !privileged || !changed {
		return res
	}
	token, hasToken := sa.Labels[LabelToken]
	if !hasToken {
		return res
	}
	if sa.Labels[LabelExternalID] == "" {
		res.Denials = append(res.Denials, field.Required(labelsPath.Key(LabelExternalID),
			"a ServiceAccount with a "+LabelToken+" label must name the token's user in this label"))
	}
	if err := CheckStrength(token, req.Config.Tokens.MinLength); err != nil {
		res.Denials = append(res.Denials, field.Invalid(tokenLabelPath, Redacted, "the token "+err.Error()))
		return res
	}
	if others := otherServiceAccounts(req.Lookup, token, sa.Namespace+"/"+sa.Name); len(others) > 0 {
		// field.Duplicate would print the value; the token is redacted.
		res.Denials = append(res.Denials, &field.Error{
			Type:     field.ErrorTypeDuplicate,
			Field:    tokenLabelPath.String(),
			BadValue: Redacted,
			Detail: fmt.Sprintf("the same token is already on ServiceAccount %s; every ServiceAccount needs its own token",
				strings.Join(others, ", ")),
		})
	}
	return res
}

// otherServiceAccounts lists, sorted, the ServiceAccounts other than self that
// carry token.
func otherServiceAccounts(lookup policies.Lookup, token, self string) []string {
	if lookup == nil {
		return nil
	}
	var others []string
	for _, ref := range lookup.ServiceAccountsWithToken(token) {
		if ref != self {
			others = append(others, ref)
		}
	}
	// Sorting first makes the duplicates neighbours: n log n, where a list
	// lookup per reference was quadratic in the ServiceAccounts sharing a
	// token.
	slices.Sort(others)
	return slices.Compact(others)
}

func asServiceAccount(obj runtime.Object) *corev1.ServiceAccount {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok || sa == nil {
		return nil
	}
	return sa
}
