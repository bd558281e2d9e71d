package httproute

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
)

// Values of dev.okteto.com/private.
const (
	PrivateTrue  = ingress.PrivateTrue
	PrivateFalse = ingress.PrivateFalse
)

// externalAuthRequestHeaders are the request headers the Gateway passes to the
// auth service besides the ones it always sends (Host, Method, Path,
// Content-Length, Authorization): the endpoint's session cookie, and the
// client's address and scheme for the failure limit and the sign-in redirect.
var externalAuthRequestHeaders = []string{"Cookie", "X-Forwarded-For", "X-Forwarded-Proto"}

// ExternalAuthRequestHeaders are the http.allowedHeaders of the ExternalAuth
// filter (a fresh copy).
func ExternalAuthRequestHeaders() []string { return slices.Clone(externalAuthRequestHeaders) }

// AuthConfigured reports whether cfg names the auth service's Service
// (endpoints.authService), without which no HTTPRoute can be private.
func AuthConfigured(cfg *config.Config) bool {
	a := cfg.Endpoints.AuthService
	return a.Namespace != "" && a.Name != "" && a.Port != 0
}

// ExternalAuthFilter is the filter that makes every rule of a private
// HTTPRoute in namespace ask the auth service first: protocol HTTP, a
// backendRef to endpoints.authService, the path
// <verifyPath>/<namespace> (config.ExternalAuthPath) so that the auth service
// admits only users with access to the namespace, the request headers of
// ExternalAuthRequestHeaders and the response headers of
// privateEndpoints.responseHeaders, copied to the backend's request. The
// controller puts it on the private HTTPRoutes it generates; a route whose
// filter differs in any field is denied.
func ExternalAuthFilter(namespace string, cfg *config.Config) gatewayv1.HTTPRouteFilter {
	a := cfg.Endpoints.AuthService
	return gatewayv1.HTTPRouteFilter{
		Type: gatewayv1.HTTPRouteFilterExternalAuth,
		ExternalAuth: &gatewayv1.HTTPExternalAuthFilter{
			ExternalAuthProtocol: gatewayv1.HTTPRouteExternalAuthHTTPProtocol,
			BackendRef: gatewayv1.BackendObjectReference{
				Group:     ptr.To(gatewayv1.Group("")),
				Kind:      ptr.To(gatewayv1.Kind("Service")),
				Name:      gatewayv1.ObjectName(a.Name),
				Namespace: ptr.To(gatewayv1.Namespace(a.Namespace)),
				Port:      ptr.To(a.Port),
			},
			HTTPAuthConfig: &gatewayv1.HTTPAuthConfig{
				Path:                   cfg.ExternalAuthPath(namespace),
				AllowedRequestHeaders:  ExternalAuthRequestHeaders(),
				AllowedResponseHeaders: slices.Clone(cfg.PrivateEndpoints.ResponseHeaders),
			},
		},
	}
}

// IsExternalAuthFilter reports whether f is exactly ExternalAuthFilter(namespace,
// cfg). The backendRef's group and kind may be left out, as the CRD defaults
// them to the core group and Service.
func IsExternalAuthFilter(f gatewayv1.HTTPRouteFilter, namespace string, cfg *config.Config) bool {
	return externalAuthDifference(f, namespace, cfg) == ""
}

// isExternalAuth reports whether f is an ExternalAuth filter of any content.
func isExternalAuth(f gatewayv1.HTTPRouteFilter) bool {
	return f.Type == gatewayv1.HTTPRouteFilterExternalAuth || f.ExternalAuth != nil
}

// externalAuthDifference names the first part of f that differs from
// ExternalAuthFilter(namespace, cfg), or "" when none does.
func externalAuthDifference(f gatewayv1.HTTPRouteFilter, namespace string, cfg *config.Config) string {
	// The type first: most filters are of another, and building devgate's
	// filter to compare with costs allocations on every admission.
	if f.Type != gatewayv1.HTTPRouteFilterExternalAuth {
		return "type"
	}
	w := ExternalAuthFilter(namespace, cfg).ExternalAuth
	if f.RequestHeaderModifier != nil || f.ResponseHeaderModifier != nil || f.RequestMirror != nil || f.RequestRedirect != nil ||
		f.URLRewrite != nil || f.ExtensionRef != nil || f.CORS != nil {
		return "the filter's other fields (only type and externalAuth)"
	}
	e := f.ExternalAuth
	if e == nil {
		return "externalAuth"
	}
	b, wb := e.BackendRef, w.BackendRef
	switch {
	case e.ExternalAuthProtocol != w.ExternalAuthProtocol:
		return "externalAuth.protocol"
	case ptr.Deref(b.Group, "") != *wb.Group || ptr.Deref(b.Kind, "Service") != *wb.Kind:
		return "externalAuth.backendRef (group and kind)"
	case b.Namespace == nil || *b.Namespace != *wb.Namespace || b.Name != wb.Name:
		return "externalAuth.backendRef (namespace and name)"
	case b.Port == nil || *b.Port != *wb.Port:
		return "externalAuth.backendRef.port"
	case e.GRPCAuthConfig != nil:
		return "externalAuth.grpc"
	case e.ForwardBody != nil:
		return "externalAuth.forwardBody"
	case e.HTTPAuthConfig == nil:
		return "externalAuth.http"
	case e.HTTPAuthConfig.Path != w.HTTPAuthConfig.Path:
		return "externalAuth.http.path"
	case !slices.Equal(e.HTTPAuthConfig.AllowedRequestHeaders, w.HTTPAuthConfig.AllowedRequestHeaders):
		return "externalAuth.http.allowedHeaders"
	case !slices.Equal(e.HTTPAuthConfig.AllowedResponseHeaders, w.HTTPAuthConfig.AllowedResponseHeaders):
		return "externalAuth.http.allowedResponseHeaders"
	}
	return ""
}

// describeFilter is ExternalAuthFilter(namespace, cfg) for messages.
func describeFilter(namespace string, cfg *config.Config) string {
	a := cfg.Endpoints.AuthService
	return fmt.Sprintf("type ExternalAuth, protocol HTTP, backendRef Service %s/%s port %d, http.path %s, allowedHeaders [%s], allowedResponseHeaders [%s]",
		a.Namespace, a.Name, a.Port, cfg.ExternalAuthPath(namespace),
		strings.Join(externalAuthRequestHeaders, ", "), strings.Join(cfg.PrivateEndpoints.ResponseHeaders, ", "))
}

// defaultRule is the rule the CRD gives a route without rules: every path.
func defaultRule() gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
		Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/"),
	}}}}
}

// mutatePrivate puts the ExternalAuth filter first on every rule of a private
// route that has none; a rule with another ExternalAuth filter is the
// tenant's and is left for Validate to deny, never overwritten. A route
// without rules gets the CRD's default rule first, or the API server would add
// it after the mutation, without the filter. When the route is no longer
// private, devgate's filters (exactly its value) are removed, or the endpoint
// would stay behind authentication after `kubectl apply` dropped
// dev.okteto.com/private, which never owned them.
func mutatePrivate(r *gatewayv1.HTTPRoute, cfg *config.Config) []string {
	v, ok := r.Annotations[AnnotationPrivate]
	ns := r.Namespace
	switch {
	case v == PrivateTrue:
		if !AuthConfigured(cfg) {
			return nil // Validate denies the route
		}
		if len(r.Spec.Rules) == 0 {
			r.Spec.Rules = []gatewayv1.HTTPRouteRule{defaultRule()}
		}
		for i := range r.Spec.Rules {
			rule := &r.Spec.Rules[i]
			if !slices.ContainsFunc(rule.Filters, isExternalAuth) {
				rule.Filters = slices.Insert(rule.Filters, 0, ExternalAuthFilter(ns, cfg))
			}
		}
	case !ok || v == PrivateFalse:
		if !AuthConfigured(cfg) {
			return nil
		}
		removed := 0
		for i := range r.Spec.Rules {
			rule := &r.Spec.Rules[i]
			n := len(rule.Filters)
			rule.Filters = slices.DeleteFunc(rule.Filters, func(f gatewayv1.HTTPRouteFilter) bool { return IsExternalAuthFilter(f, ns, cfg) })
			if len(rule.Filters) == 0 {
				rule.Filters = nil
			}
			removed += n - len(rule.Filters)
		}
		if removed > 0 {
			return []string{fmt.Sprintf("%s is not private (%s is not %q): removed devgate's ExternalAuth filter from %d rule(s)",
				describe(r), AnnotationPrivate, PrivateTrue, removed)}
		}
	}
	return nil
}

// validatePrivate denies an invalid dev.okteto.com/private, and on a private
// route every rule that does not send its requests through devgate's
// ExternalAuth filter: a rule without it, or with another ExternalAuth
// filter, would serve the namespace's backend to anyone.
func validatePrivate(r *gatewayv1.HTTPRoute, cfg *config.Config) field.ErrorList {
	v, ok := r.Annotations[AnnotationPrivate]
	if !ok || v == PrivateFalse {
		return nil
	}
	if v != PrivateTrue {
		return field.ErrorList{field.NotSupported(annotationPath(AnnotationPrivate), shown(v), []string{PrivateTrue, PrivateFalse})}
	}
	if !AuthConfigured(cfg) {
		return field.ErrorList{field.Forbidden(annotationPath(AnnotationPrivate),
			"a private HTTPRoute needs the auth service's Service, and devgate's configuration names none (endpoints.authService)")}
	}
	ns := r.Namespace
	rules := field.NewPath("spec", "rules")
	if len(r.Spec.Rules) == 0 {
		return field.ErrorList{field.Required(rules, "a private HTTPRoute needs rules that carry devgate's ExternalAuth filter ("+describeFilter(ns, cfg)+")")}
	}
	var errs field.ErrorList
	for i, rule := range r.Spec.Rules {
		found, altered := false, false
		for j, f := range rule.Filters {
			if !isExternalAuth(f) {
				continue
			}
			if diff := externalAuthDifference(f, ns, cfg); diff != "" {
				altered = true
				errs = append(errs, field.Forbidden(rules.Index(i).Child("filters").Index(j), fmt.Sprintf(
					"a private HTTPRoute's ExternalAuth filter must be exactly devgate's (%s); its %s differs, which would open or redirect the endpoint's authentication",
					describeFilter(ns, cfg), diff)))
				continue
			}
			found = true
		}
		if !found && !altered {
			errs = append(errs, field.Required(rules.Index(i).Child("filters"), fmt.Sprintf(
				"every rule of a private HTTPRoute needs devgate's ExternalAuth filter (%s): without it the rule serves the backend to anyone", describeFilter(ns, cfg))))
		}
	}
	return errs
}
