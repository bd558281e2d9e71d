// Package hostindex answers the two questions of host ownership (SPEC 3)
// from informer caches: which namespaces exist, and which Ingresses (and,
// where WatchHTTPRoutes added them, HTTPRoutes) serve a host that a namespace
// of a given name would fit. Both are map lookups, so
// the ownership rule costs a handful of them per admission however many
// namespaces and Ingresses the cluster has, and never a LIST against the API
// server.
package hostindex

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/hosts"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/ingress"
)

// indexName names the index on the Ingress informer's store. It must not
// collide with controller-runtime's ("namespace", "field:...").
const indexName = "devgate.dev/host-fits"

// NamespaceMetadata is the cache key for Namespaces: metadata only.
func NamespaceMetadata() *metav1.PartialObjectMetadata {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return obj
}

// NamespaceCacheOptions trims cached Namespaces to their name: existence is
// all the ownership rule asks.
func NamespaceCacheOptions() cache.ByObject {
	return cache.ByObject{Transform: func(in any) (any, error) {
		obj, ok := in.(*metav1.PartialObjectMetadata)
		if !ok {
			return in, nil
		}
		trimmed := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta}
		trimmed.Name, trimmed.UID, trimmed.ResourceVersion = obj.Name, obj.UID, obj.ResourceVersion
		return trimmed, nil
	}}
}

// Index implements the namespace and host questions of policies.Lookup.
type Index struct {
	namespaces toolscache.Indexer
	ingresses  toolscache.Indexer
	// routes is the HTTPRoute informer's store once WatchHTTPRoutes added
	// it (httproutes.go); nil before, and in clusters without the Gateway
	// API.
	routes routeStore
}

// indexerInformer is what client-go's SharedIndexInformer, which
// controller-runtime's cache hands out for a cluster-wide informer, offers
// beyond cache.Informer: its store, to read without a List.
type indexerInformer interface {
	GetIndexer() toolscache.Indexer
}

// Setup registers the informers (Namespace metadata, Ingresses) and the host
// index on c. Call it before the cache starts; the cache must be cluster-wide.
func Setup(ctx context.Context, c cache.Cache) (*Index, error) {
	nsInf, err := c.GetInformer(ctx, NamespaceMetadata())
	if err != nil {
		return nil, err
	}
	ns, ok := nsInf.(indexerInformer)
	if !ok {
		return nil, fmt.Errorf("hostindex: the Namespace informer %T exposes no indexer", nsInf)
	}
	ingInf, err := c.GetInformer(ctx, &networkingv1.Ingress{})
	if err != nil {
		return nil, err
	}
	ing, ok := ingInf.(indexerInformer)
	if !ok {
		return nil, fmt.Errorf("hostindex: the Ingress informer %T exposes no indexer; the cache must not be restricted to namespaces", ingInf)
	}
	if err := ingInf.AddIndexers(toolscache.Indexers{indexName: fitsIndexFunc}); err != nil {
		return nil, err
	}
	return &Index{namespaces: ns.GetIndexer(), ingresses: ing.GetIndexer()}, nil
}

// Candidates are the namespace names that host's first label fits
// (hosts.FittingNames): an index keyed by them finds every host a namespace
// would fit in one lookup.
func Candidates(host string) []string {
	label, _, _ := strings.Cut(host, ".")
	return slices.Collect(hosts.FittingNames(label))
}

// fitsIndexFunc keys an Ingress by every candidate namespace of every host it
// serves (rules, TLS hosts, server aliases), and an HTTPRoute by those of its
// hostnames.
func fitsIndexFunc(obj any) ([]string, error) {
	var served []string
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		served = ingress.ServedHosts(o)
	case *gatewayv1.HTTPRoute:
		served = httproute.ServedHosts(o)
	default:
		return nil, fmt.Errorf("hostindex: cannot index %T", obj)
	}
	var keys []string
	seen := map[string]bool{}
	for _, h := range served {
		for _, c := range Candidates(h) {
			if !seen[c] {
				seen[c] = true
				keys = append(keys, c)
			}
		}
	}
	return keys, nil
}

// NamespaceExists implements policies.Lookup.
func (i *Index) NamespaceExists(name string) bool {
	_, exists, err := i.namespaces.GetByKey(name)
	return err == nil && exists
}

// HostsFitting implements policies.Lookup: every host an Ingress (or, once
// WatchHTTPRoutes added them, an HTTPRoute) serves whose first label is
// namespace or ends with "-" + namespace.
func (i *Index) HostsFitting(namespace string) []policies.HostUse {
	objs, err := i.ingresses.ByIndex(indexName, namespace)
	if err != nil {
		return nil
	}
	if routes := i.routes.get(); routes != nil {
		if more, err := routes.ByIndex(indexName, namespace); err == nil {
			objs = append(objs, more...)
		}
	}
	return UsesFitting(namespace, objs)
}

// UsesFitting lists the hosts of the Ingresses and HTTPRoutes in objs whose
// first label fits namespace. The webhook's index and `devgate check` share it.
func UsesFitting(namespace string, objs []any) []policies.HostUse {
	var uses []policies.HostUse
	add := func(served []string, kind, ns, name string) {
		for _, h := range served {
			label, _, _ := strings.Cut(h, ".")
			if hosts.Fits(label, namespace) {
				uses = append(uses, policies.HostUse{Host: h, Kind: kind, Namespace: ns, Name: name})
			}
		}
	}
	for _, o := range objs {
		switch obj := o.(type) {
		case *networkingv1.Ingress:
			add(ingress.ServedHosts(obj), "Ingress", obj.Namespace, obj.Name)
		case *gatewayv1.HTTPRoute:
			add(httproute.ServedHosts(obj), "HTTPRoute", obj.Namespace, obj.Name)
		}
	}
	return uses
}
