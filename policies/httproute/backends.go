package httproute

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
)

// validateBackends denies every reference of r to a backend of another
// namespace: a rule's backendRefs, and the backendRefs of its filters
// (RequestMirror, a tenant's own ExternalAuth) and of its backends' filters.
// A Gateway honours such a reference wherever the target namespace has a
// ReferenceGrant for it, and devgate keeps one in the auth Service's
// namespace for its ExternalAuth filter: without this rule, a tenant's route
// could serve the auth service under the tenant's own host, and read the
// sessions that browsers sign in with there. devgate's own ExternalAuth
// filter may name the auth Service; on a private route, validatePrivate
// judges every ExternalAuth filter of the rules already.
func validateBackends(r *gatewayv1.HTTPRoute, cfg *config.Config) field.ErrorList {
	var errs field.ErrorList
	judged := r.Annotations[AnnotationPrivate] == PrivateTrue
	rules := field.NewPath("spec", "rules")
	for i, rule := range r.Spec.Rules {
		rp := rules.Index(i)
		errs = append(errs, filterBackends(rp.Child("filters"), rule.Filters, r.Namespace, cfg, judged)...)
		for j, b := range rule.BackendRefs {
			bp := rp.Child("backendRefs").Index(j)
			errs = append(errs, foreignBackend(bp, b.BackendObjectReference, r.Namespace)...)
			errs = append(errs, filterBackends(bp.Child("filters"), b.Filters, r.Namespace, cfg, false)...)
		}
	}
	return errs
}

// filterBackends denies the backendRefs of filters that name another
// namespace, but for devgate's ExternalAuth filter, and for every
// ExternalAuth filter when authJudged.
func filterBackends(p *field.Path, filters []gatewayv1.HTTPRouteFilter, namespace string, cfg *config.Config, authJudged bool) field.ErrorList {
	var errs field.ErrorList
	for k, f := range filters {
		fp := p.Index(k)
		if f.RequestMirror != nil {
			errs = append(errs, foreignBackend(fp.Child("requestMirror", "backendRef"), f.RequestMirror.BackendRef, namespace)...)
		}
		if f.ExternalAuth != nil && !authJudged && !IsExternalAuthFilter(f, namespace, cfg) {
			errs = append(errs, foreignBackend(fp.Child("externalAuth", "backendRef"), f.ExternalAuth.BackendRef, namespace)...)
		}
	}
	return errs
}

// foreignBackend denies ref at p when it names a namespace other than the
// route's own.
func foreignBackend(p *field.Path, ref gatewayv1.BackendObjectReference, namespace string) field.ErrorList {
	if ref.Namespace == nil || string(*ref.Namespace) == namespace {
		return nil
	}
	kind := string(ptr.Deref(ref.Kind, "Service"))
	return field.ErrorList{field.Forbidden(p.Child("namespace"), fmt.Sprintf(
		"the backendRef %s %s/%s is of another namespace: an HTTPRoute may send requests only to backends of its own namespace %q",
		shown(kind), shown(string(*ref.Namespace)), shown(string(ref.Name)), namespace))}
}
