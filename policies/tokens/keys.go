// Package tokens holds the token policies of SPEC 5 as plain Go: token Secrets
// (type devgate.dev/token), guarded Secrets, the token labels of
// ServiceAccounts and OIDC connector Secrets, plus the two checks they share,
// CheckStrength (SPEC 5.4) and ParseTTL/ValidateTTL.
//
// No denial or warning of this package ever contains a token value or an OIDC
// client_secret: admission messages end up in kubectl output, CI logs and the
// API server's audit log, so a secret echoed there is a secret leaked. Values
// are reported as Redacted, with only their length or the rule they break.
// See RULES.md for the rules in one table.
package tokens

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"devgate.dev/devgate/policies"
)

// Secret types devgate owns.
const (
	// TypeToken is the type of token Secrets (SPEC 5.1).
	TypeToken corev1.SecretType = "devgate.dev/token"
	// TypeOIDCConnector is the type of OIDC connector Secrets (SPEC 5.5).
	TypeOIDCConnector corev1.SecretType = "devgate.dev/oidc-connector"
)

// Keys of a token Secret's data (SPEC 5.1).
const (
	KeyToken       = "token"
	KeyUserID      = "user-id"
	KeyKind        = "kind"
	KeyDescription = "description"
	KeyTTL         = "ttl"
	KeyEnabled     = "enabled"
)

// Values of a token Secret's kind. Empty means derived, as in the source
// document: "session" is a login token, every other kind a derived one.
const (
	KindSession = "session"
	KindDerived = "derived"
)

// Keys of an OIDC connector Secret's data (SPEC 5.5).
const (
	KeyIssuer       = "issuer"
	KeyClientID     = "client_id"
	KeyClientSecret = "client_secret"
	KeyRedirectURI  = "redirect_uri"
)

// Labels and annotations.
const (
	// LabelToken carries a user's token on a ServiceAccount (SPEC 5.3).
	LabelToken = "dev.okteto.com/token"
	// LabelExternalID names the user a ServiceAccount's token belongs to.
	LabelExternalID = "dev.okteto.com/external-id"
	// LabelGuard with value GuardToken makes any Secret a guarded Secret (SPEC 5.2).
	LabelGuard = "devgate.dev/guard"
	// GuardToken is the only value LabelGuard takes.
	GuardToken = "token"
	// AnnotationTokenKey names the data key of a labelled guarded Secret.
	AnnotationTokenKey = "devgate.dev/token-key"
	// DefaultGuardedKey is that key when the annotation is absent or empty.
	DefaultGuardedKey = "token"
)

// Redacted stands in for a secret value in denials.
const Redacted = "<redacted>"

var (
	secretGVK         = corev1.SchemeGroupVersion.WithKind("Secret")
	serviceAccountGVK = corev1.SchemeGroupVersion.WithKind("ServiceAccount")
)

// validateRule is the rule of a policy that only validates, on CREATE and UPDATE.
func validateRule(gvk schema.GroupVersionKind, resource string) policies.Rule {
	return policies.Rule{
		GroupVersionKind: gvk,
		Resource:         resource,
		Operations:       []policies.Operation{policies.Create, policies.Update},
		Validating:       true,
	}
}
