package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

// Values of dev.okteto.com/private.
const (
	PrivateTrue  = "true"
	PrivateFalse = "false"
)

// signinRedirect sends the user back to the page they asked for after signing in.
const signinRedirect = "?rd=$scheme://$host$escaped_request_uri"

// PrivateAnnotations are the ingress-nginx external-auth annotations of a
// private endpoint in namespace, with their exact values (SPEC 4). The auth
// service learns the namespace from auth-url, so a tenant's endpoint can only
// be reached by users with access to that namespace.
func PrivateAnnotations(namespace string, cfg *config.Config) map[string]string {
	m := make(map[string]string, len(privateKeys))
	for _, k := range privateKeys {
		m[k] = privateValue(k, namespace, cfg)
	}
	return m
}

// privateKeys are the keys of PrivateAnnotations in a stable order.
var privateKeys = []string{AnnotationAuthURL, AnnotationAuthSignin, AnnotationAuthResponseHeaders}

// privateValue is the value of key in PrivateAnnotations: the policy builds
// only the values it sets or quotes, not the whole map on every review.
func privateValue(key, namespace string, cfg *config.Config) string {
	pe := &cfg.PrivateEndpoints
	switch key {
	case AnnotationAuthURL:
		return pe.AuthURL + "?namespace=" + namespace
	case AnnotationAuthSignin:
		return pe.SigninURL + signinRedirect
	case AnnotationAuthResponseHeaders:
		return strings.Join(pe.ResponseHeaders, ",")
	}
	return ""
}

// isPrivateValue reports whether v == privateValue(key, namespace, cfg)
// without building that value: every review of a private Ingress compares
// its three annotations. FuzzIsPrivateValue holds the two together.
func isPrivateValue(key, v, namespace string, cfg *config.Config) bool {
	pe := &cfg.PrivateEndpoints
	switch key {
	case AnnotationAuthURL:
		return isJoined(v, []string{pe.AuthURL, "?namespace=", namespace}, "")
	case AnnotationAuthSignin:
		return isJoined(v, []string{pe.SigninURL, signinRedirect}, "")
	case AnnotationAuthResponseHeaders:
		return isJoined(v, pe.ResponseHeaders, ",")
	}
	return v == ""
}

// isJoined reports whether s == strings.Join(elems, sep), without joining.
func isJoined(s string, elems []string, sep string) bool {
	for i, e := range elems {
		if i > 0 {
			if !strings.HasPrefix(s, sep) {
				return false
			}
			s = s[len(sep):]
		}
		if !strings.HasPrefix(s, e) {
			return false
		}
		s = s[len(e):]
	}
	return s == ""
}

// mutatePrivate injects the auth annotations of a private Ingress where they
// are missing; a differing value is the tenant's and is left for Validate to
// deny, never overwritten. When the Ingress is no longer private, the
// annotations devgate injected (exactly its values) are removed, or the
// endpoint would stay behind authentication after `kubectl apply` dropped
// dev.okteto.com/private, which never owned them.
func mutatePrivate(ing *networkingv1.Ingress, cfg *config.Config) []string {
	v, ok := ing.Annotations[AnnotationPrivate]
	switch {
	case v == PrivateTrue:
		for _, k := range privateKeys {
			if _, has := ing.Annotations[k]; !has {
				setAnnotation(&ing.Annotations, k, privateValue(k, ing.Namespace, cfg))
			}
		}
	case !ok || v == PrivateFalse:
		var removed []string
		for _, k := range privateKeys {
			if cur, has := ing.Annotations[k]; has && isPrivateValue(k, cur, ing.Namespace, cfg) {
				delete(ing.Annotations, k)
				removed = append(removed, k)
			}
		}
		if len(removed) > 0 {
			return []string{fmt.Sprintf("%s is not private (%s is not %q): removed devgate's authentication annotations %s",
				describe(ing), AnnotationPrivate, PrivateTrue, strings.Join(removed, ", "))}
		}
	}
	return nil
}

// validatePrivate denies an invalid dev.okteto.com/private, and on a private
// Ingress every annotation that can open or redirect its authentication.
func validatePrivate(ing *networkingv1.Ingress, cfg *config.Config) field.ErrorList {
	v, ok := ing.Annotations[AnnotationPrivate]
	if !ok || v == PrivateFalse {
		return nil
	}
	if v != PrivateTrue {
		return field.ErrorList{field.NotSupported(annotationPath(AnnotationPrivate), shown(v), []string{PrivateTrue, PrivateFalse})}
	}
	var errs field.ErrorList
	ns := ing.Namespace
	denied := func(k, v string) bool { return privateDenial(k, v, ns, cfg) != nil }
	for _, k := range sortedKeysWhere(ing.Annotations, denied) {
		errs = append(errs, privateDenial(k, ing.Annotations[k], ns, cfg))
	}
	for _, k := range privateKeys {
		if _, has := ing.Annotations[k]; !has {
			errs = append(errs, field.Required(annotationPath(k), fmt.Sprintf("a private endpoint needs %s: %q", k, privateValue(k, ns, cfg))))
		}
	}
	return errs
}

// privateDenial denies annotation k with value v on a private Ingress in
// namespace if it can open or redirect the authentication, or returns nil.
func privateDenial(k, v, namespace string, cfg *config.Config) *field.Error {
	switch {
	case slices.Contains(privateKeys, k):
		if !isPrivateValue(k, v, namespace, cfg) {
			return field.Invalid(annotationPath(k), shown(v), fmt.Sprintf(
				"a private endpoint's %s must be exactly %q (devgate sets it): another value would open or redirect its authentication", k, privateValue(k, namespace, cfg)))
		}
	case strings.HasPrefix(k, authPrefix):
		return field.Forbidden(annotationPath(k), fmt.Sprintf(
			"%q: a private endpoint allows no %s* annotation besides devgate's %s: it could open or redirect its authentication; remove it",
			shown(v), authPrefix, strings.Join(privateKeys, ", ")))
	case k == AnnotationSatisfy:
		return field.Forbidden(annotationPath(k), fmt.Sprintf(
			"%q: not allowed on a private endpoint: satisfy lets a request through when another access check passes without authentication; remove it", shown(v)))
	case k == AnnotationEnableGlobalAuth && parsesFalse(v):
		return field.Invalid(annotationPath(k), shown(v),
			"a private endpoint must not turn ingress-nginx's global authentication off: remove the annotation")
	}
	return nil
}

// parsesFalse reports whether ingress-nginx reads v as false: it parses boolean
// annotations with strconv.ParseBool, so "0", "f" and "False" count too.
func parsesFalse(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && !b
}
