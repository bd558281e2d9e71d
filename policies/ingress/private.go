package ingress

import (
	"fmt"
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
	return map[string]string{
		AnnotationAuthURL:             cfg.PrivateEndpoints.AuthURL + "?namespace=" + namespace,
		AnnotationAuthSignin:          cfg.PrivateEndpoints.SigninURL + signinRedirect,
		AnnotationAuthResponseHeaders: strings.Join(cfg.PrivateEndpoints.ResponseHeaders, ","),
	}
}

// privateKeys are the keys of PrivateAnnotations in a stable order.
var privateKeys = []string{AnnotationAuthURL, AnnotationAuthSignin, AnnotationAuthResponseHeaders}

// mutatePrivate injects the auth annotations of a private Ingress where they
// are missing; a differing value is the tenant's and is left for Validate to
// deny, never overwritten. When the Ingress is no longer private, the
// annotations devgate injected (exactly its values) are removed, or the
// endpoint would stay behind authentication after `kubectl apply` dropped
// dev.okteto.com/private, which never owned them.
func mutatePrivate(ing *networkingv1.Ingress, cfg *config.Config) []string {
	v, ok := ing.Annotations[AnnotationPrivate]
	want := PrivateAnnotations(ing.Namespace, cfg)
	switch {
	case v == PrivateTrue:
		for _, k := range privateKeys {
			if _, has := ing.Annotations[k]; !has {
				setAnnotation(&ing.Annotations, k, want[k])
			}
		}
	case !ok || v == PrivateFalse:
		var removed []string
		for _, k := range privateKeys {
			if cur, has := ing.Annotations[k]; has && cur == want[k] {
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
	want := PrivateAnnotations(ing.Namespace, cfg)
	for _, k := range sortedKeys(ing.Annotations) {
		val := ing.Annotations[k]
		exp, devgates := want[k]
		switch {
		case devgates:
			if val != exp {
				errs = append(errs, field.Invalid(annotationPath(k), shown(val), fmt.Sprintf(
					"a private endpoint's %s must be exactly %q (devgate sets it): another value would open or redirect its authentication", k, exp)))
			}
		case strings.HasPrefix(k, authPrefix):
			errs = append(errs, field.Forbidden(annotationPath(k), fmt.Sprintf(
				"%q: a private endpoint allows no %s* annotation besides devgate's %s: it could open or redirect its authentication; remove it",
				shown(val), authPrefix, strings.Join(privateKeys, ", "))))
		case k == AnnotationSatisfy:
			errs = append(errs, field.Forbidden(annotationPath(k), fmt.Sprintf(
				"%q: not allowed on a private endpoint: satisfy lets a request through when another access check passes without authentication; remove it", shown(val))))
		case k == AnnotationEnableGlobalAuth && parsesFalse(val):
			errs = append(errs, field.Invalid(annotationPath(k), shown(val),
				"a private endpoint must not turn ingress-nginx's global authentication off: remove the annotation"))
		}
	}
	for _, k := range privateKeys {
		if _, has := ing.Annotations[k]; !has {
			errs = append(errs, field.Required(annotationPath(k), fmt.Sprintf("a private endpoint needs %s: %q", k, want[k])))
		}
	}
	return errs
}

// parsesFalse reports whether ingress-nginx reads v as false: it parses boolean
// annotations with strconv.ParseBool, so "0", "f" and "False" count too.
func parsesFalse(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && !b
}
