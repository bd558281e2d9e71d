package httproute

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
)

// The group and kind of a Gateway, as a parentRef names them; a parentRef
// without them means exactly these (the CRD's defaults).
const (
	gatewayGroup = gatewayv1.Group(gatewayv1.GroupName)
	gatewayKind  = gatewayv1.Kind("Gateway")
)

// GatewayParentRef is the parentRef of the platform's Gateway
// (endpoints.gateway), with its sectionName when one is configured: what
// HTTPRoutes without parentRefs get, and what the controller puts on the
// HTTPRoutes it generates. ok is false when no Gateway is configured.
func GatewayParentRef(cfg *config.Config) (ref gatewayv1.ParentReference, ok bool) {
	g := cfg.Endpoints.Gateway
	if g.Name == "" || g.Namespace == "" {
		return gatewayv1.ParentReference{}, false
	}
	ref = gatewayv1.ParentReference{
		Group:     ptr.To(gatewayGroup),
		Kind:      ptr.To(gatewayKind),
		Namespace: ptr.To(gatewayv1.Namespace(g.Namespace)),
		Name:      gatewayv1.ObjectName(g.Name),
	}
	if g.SectionName != "" {
		ref.SectionName = ptr.To(gatewayv1.SectionName(g.SectionName))
	}
	return ref, true
}

// defaultParents attaches a route without parentRefs to the platform's
// Gateway. Without a configured Gateway the route stays unattached, which
// serves nothing.
func defaultParents(r *gatewayv1.HTTPRoute, cfg *config.Config) {
	if len(r.Spec.ParentRefs) > 0 {
		return
	}
	if ref, ok := GatewayParentRef(cfg); ok {
		r.Spec.ParentRefs = []gatewayv1.ParentReference{ref}
	}
}

// validateParents denies every parentRef that is not the platform's Gateway:
// another team's Gateway, an internal one, a ListenerSet or a Service (a mesh
// route that would take over another Service's traffic).
func validateParents(r *gatewayv1.HTTPRoute, cfg *config.Config) field.ErrorList {
	var errs field.ErrorList
	for i, ref := range r.Spec.ParentRefs {
		if problem := parentProblem(ref, r.Namespace, cfg); problem != "" {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "parentRefs").Index(i), problem))
		}
	}
	return errs
}

// parentProblem says why a route in namespace may not attach to ref, or "".
func parentProblem(ref gatewayv1.ParentReference, namespace string, cfg *config.Config) string {
	g := cfg.Endpoints.Gateway
	if g.Name == "" || g.Namespace == "" {
		return fmt.Sprintf("%s: no Gateway is configured for HTTPRoutes (endpoints.gateway), so an HTTPRoute may attach to none", describeRef(ref, namespace))
	}
	allowed := fmt.Sprintf("an HTTPRoute may attach only to the platform's Gateway %s/%s", g.Namespace, g.Name)
	if g.SectionName != "" {
		allowed += fmt.Sprintf(" (sectionName %q)", g.SectionName)
	}
	group, kind, ns := refGroupKindNamespace(ref, namespace)
	switch {
	case group != gatewayGroup || kind != gatewayKind:
		return fmt.Sprintf("%s is not a Gateway: %s", describeRef(ref, namespace), allowed)
	case string(ns) != g.Namespace || string(ref.Name) != g.Name:
		return fmt.Sprintf("%s is not the platform's Gateway: %s", describeRef(ref, namespace), allowed)
	case g.SectionName != "" && ref.SectionName == nil:
		return fmt.Sprintf("%s names no sectionName, which attaches to every listener of the Gateway: %s", describeRef(ref, namespace), allowed)
	case g.SectionName != "" && string(*ref.SectionName) != g.SectionName:
		return fmt.Sprintf("%s names the listener %q: %s", describeRef(ref, namespace), *ref.SectionName, allowed)
	}
	return ""
}

// refGroupKindNamespace are ref's group, kind and namespace with the
// defaults Gateway API gives the ones left out: the Gateway group, kind
// Gateway and the route's own namespace.
func refGroupKindNamespace(ref gatewayv1.ParentReference, namespace string) (gatewayv1.Group, gatewayv1.Kind, gatewayv1.Namespace) {
	group, kind, ns := gatewayGroup, gatewayKind, gatewayv1.Namespace(namespace)
	if ref.Group != nil {
		group = *ref.Group
	}
	if ref.Kind != nil {
		kind = *ref.Kind
	}
	if ref.Namespace != nil {
		ns = *ref.Namespace
	}
	return group, kind, ns
}

// describeRef names ref in messages: `the parentRef Gateway gateways/public`,
// with the group when it is not the Gateway API's.
func describeRef(ref gatewayv1.ParentReference, namespace string) string {
	group, kind, ns := refGroupKindNamespace(ref, namespace)
	what := string(kind)
	if group != gatewayGroup {
		what += "." + string(group)
		if group == "" {
			what = string(kind) + " (core group)"
		}
	}
	return fmt.Sprintf("the parentRef %s %s/%s", what, shown(string(ns)), shown(string(ref.Name)))
}
