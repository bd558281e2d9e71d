package tokens

import (
	"errors"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
)

// OIDCConnectorPolicy enforces SPEC 5.5 on Secrets of type
// devgate.dev/oidc-connector: the four settings an OIDC client needs (as in
// Pachyderm's Okta connector) are all there and the URLs are usable. The
// client_secret is only ever reported as missing, never echoed.
type OIDCConnectorPolicy struct{}

var _ policies.Validator = (*OIDCConnectorPolicy)(nil)

// NewOIDCConnectorPolicy returns the OIDC connector Secret policy.
func NewOIDCConnectorPolicy() *OIDCConnectorPolicy { return &OIDCConnectorPolicy{} }

// Name implements policies.Policy.
func (*OIDCConnectorPolicy) Name() string { return "oidc-connector" }

// Handles implements policies.Policy.
func (*OIDCConnectorPolicy) Handles() []policies.Rule {
	// Validate judges only a Secret of type devgate.dev/oidc-connector
	// (req.Object; a Secret's type never changes, oldObject is matched all
	// the same).
	r := validateRule(secretGVK, "secrets")
	r.MatchCondition = `(object != null && has(object.type) && object.type == "devgate.dev/oidc-connector") ||
		(oldObject != null && has(oldObject.type) && oldObject.type == "devgate.dev/oidc-connector")`
	return []policies.Rule{r}
}

// Validate implements policies.Validator.
func (*OIDCConnectorPolicy) Validate(req *policies.Request) policies.Result {
	s := secretOfType(req.Object, TypeOIDCConnector)
	if s == nil {
		return policies.Result{}
	}
	var res policies.Result
	required := []struct {
		key, what string
		check     func(string) error
	}{
		{KeyIssuer, "the OIDC issuer URL, e.g. https://example.okta.com/", CheckIssuerURL},
		{KeyClientID, "the client ID registered with the identity provider", nil},
		{KeyClientSecret, "the client secret registered with the identity provider", nil},
		{KeyRedirectURI, "the redirect URI registered with the identity provider", CheckRedirectURI},
	}
	for _, r := range required {
		v := secretValue(s, r.key)
		if v == "" {
			res.Denials = append(res.Denials, field.Required(secretPath(s, r.key), r.what))
			continue
		}
		if r.check != nil {
			if err := r.check(v); err != nil {
				res.Denials = append(res.Denials, field.Invalid(secretPath(s, r.key), shownURL(v), err.Error()))
			}
		}
	}
	return res
}

// CheckIssuerURL checks an OIDC issuer: an absolute https URL without query or
// fragment, as OpenID Connect Discovery requires (the issuer is compared as a
// string with the iss claim of every ID token). Plain http is allowed for
// localhost and 127.0.0.1 only, on any port, for local development. The error
// never holds the URL.
func CheckIssuerURL(raw string) error {
	u, err := parseAbsoluteURL(raw)
	if err != nil {
		return errors.New("must be an absolute https URL with a host, e.g. https://example.okta.com/")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); !strings.EqualFold(h, "localhost") && h != "127.0.0.1" {
			return errors.New("must use https; http is allowed only for localhost and 127.0.0.1")
		}
	default:
		return errors.New("must use https (http only for localhost and 127.0.0.1)")
	}
	// "?" and "#" are searched in the raw string: url.URL cannot tell "x?" or
	// "x#" from "x", yet the issuer string would differ from the iss claim.
	if strings.ContainsAny(raw, "?#") {
		return errors.New("must have no query or fragment")
	}
	return nil
}

// CheckRedirectURI checks an OAuth redirect URI: an absolute http(s) URL
// without fragment (RFC 6749 section 3.1.2). A query is allowed.
func CheckRedirectURI(raw string) error {
	u, err := parseAbsoluteURL(raw)
	if err != nil {
		return errors.New("must be an absolute http(s) URL with a host, e.g. https://app.example.com/callback")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must use http or https")
	}
	if strings.Contains(raw, "#") {
		return errors.New("must have no fragment")
	}
	return nil
}

// parseAbsoluteURL parses raw and requires a scheme and a host name. The
// parser's own error is dropped: it quotes the whole URL.
func parseAbsoluteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || u.Opaque != "" || u.Hostname() == "" {
		return nil, errors.New("not an absolute URL with a host")
	}
	return u, nil
}
