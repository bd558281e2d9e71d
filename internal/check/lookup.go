package check

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	sigsjson "sigs.k8s.io/json"

	"devgate.dev/devgate/internal/hostindex"
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/service"
)

// manifestLookup answers policies.Lookup from the manifests given to check, in
// place of the webhook's informer caches: the cluster is what --old describes,
// with every -f object applied over it. Two manifests that carry the same
// token label are thereby caught before either reaches a cluster, and so is
// an Ingress that takes a host of a namespace the manifests create.
//
// What it cannot know offline: namespaces and Ingresses of the cluster that
// the manifests do not mention. A namespace exists for it when a Namespace
// object names it or any object lives in it.
type manifestLookup struct {
	byToken    map[string][]string // token label value -> sorted "namespace/name"
	namespaces map[string]bool
	// serving are the Ingresses and HTTPRoutes of the manifests and the
	// Ingresses or HTTPRoutes (endpoints.kind) their Services would get
	// from the controller, as hostindex reads them.
	serving []any
}

var _ policies.Lookup = manifestLookup{}

var (
	namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")
	ingressGVK   = networkingv1.SchemeGroupVersion.WithKind("Ingress")
	serviceGVK   = corev1.SchemeGroupVersion.WithKind("Service")
)

// newLookup indexes the objects of old and current; a current object
// replaces the old object of the same apiVersion, kind, namespace and name.
func newLookup(old, current []*object, cfg *config.Config) manifestLookup {
	state := map[string]*object{}
	var order []string
	l := manifestLookup{byToken: map[string][]string{}, namespaces: map[string]bool{}}
	for _, set := range [][]*object{old, current} {
		for _, o := range set {
			if o.namespace != "" {
				l.namespaces[o.namespace] = true
			}
			if o.gvk == namespaceGVK && o.name != "" {
				l.namespaces[o.name] = true
			}
			if o.name == "" {
				continue
			}
			k := o.key()
			if _, seen := state[k]; !seen {
				order = append(order, k)
			}
			state[k] = o
		}
	}
	for _, k := range order {
		o := state[k]
		switch o.gvk {
		case serviceAccountGVK:
			if o.hasToken {
				l.byToken[o.token] = append(l.byToken[o.token], o.namespace+"/"+o.name)
			}
		case ingressGVK:
			var ing networkingv1.Ingress
			if sigsjson.UnmarshalCaseSensitivePreserveInts(o.raw, &ing) == nil {
				ing.Namespace = o.namespace
				l.serving = append(l.serving, &ing)
			}
		case httproute.GVK:
			var r gatewayv1.HTTPRoute
			if sigsjson.UnmarshalCaseSensitivePreserveInts(o.raw, &r) == nil {
				r.Namespace = o.namespace
				l.serving = append(l.serving, &r)
			}
		case serviceGVK:
			var svc corev1.Service
			if sigsjson.UnmarshalCaseSensitivePreserveInts(o.raw, &svc) == nil {
				svc.Namespace = o.namespace
				// The object the controller would make for it, Ingress or
				// HTTPRoute, as the webhook's index will see it.
				if desired, _ := service.DesiredEndpoint(&svc, cfg); desired != nil {
					l.serving = append(l.serving, desired)
				}
			}
		}
	}
	for token, names := range l.byToken {
		slices.Sort(names)
		l.byToken[token] = slices.Compact(names)
	}
	return l
}

// ServiceAccountsWithToken implements policies.Lookup. The list includes the
// object under admission when it carries the token, as the webhook's cache
// does on UPDATE: policies skip their own namespace/name. It returns a copy,
// since policies run concurrently.
func (l manifestLookup) ServiceAccountsWithToken(token string) []string {
	return slices.Clone(l.byToken[token])
}

// NamespaceExists implements policies.Lookup: a Namespace object of the
// manifests, or the namespace of any of their objects.
func (l manifestLookup) NamespaceExists(name string) bool { return l.namespaces[name] }

// HostsFitting implements policies.Lookup from the manifests' Ingresses and
// HTTPRoutes and their Services' generated Ingresses.
func (l manifestLookup) HostsFitting(namespace string) []policies.HostUse {
	return hostindex.UsesFitting(namespace, l.serving)
}
