package auth

import (
	"errors"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

var errRedirect = errors.New("the redirect target must be an https URL of a host under the domain")

// safeRedirect returns rd, re-encoded, when it is an absolute https URL whose
// host is domain or a subdomain of it: the sign-in page must not send a user,
// with a fresh session, anywhere else (open redirect). It refuses anything a
// browser might read differently from Go's parser: backslashes (read as
// slashes), control characters and spaces, user information
// ("https://domain@evil.com") and ports other than 443.
func safeRedirect(rd, domain string) (string, error) {
	if rd == "" || strings.ContainsAny(rd, "\\ ") {
		return "", errRedirect
	}
	for i := 0; i < len(rd); i++ {
		if rd[i] < 0x20 || rd[i] == 0x7f {
			return "", errRedirect
		}
	}
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", errRedirect
	}
	if port := u.Port(); port != "" && port != "443" {
		return "", errRedirect
	}
	host := u.Hostname()
	if len(validation.IsDNS1123Subdomain(host)) > 0 {
		return "", errRedirect
	}
	if host != domain && !strings.HasSuffix(host, "."+domain) {
		return "", errRedirect
	}
	return u.String(), nil
}
