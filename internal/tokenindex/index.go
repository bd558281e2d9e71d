// Package tokenindex answers "which ServiceAccounts carry this token label?"
// from a metadata-only informer cache indexed by the label's value, so the
// uniqueness check of SPEC 5.3 costs one map lookup per admission however many
// ServiceAccounts the cluster has, and never a LIST against the API server.
package tokenindex

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Label keys kept in the cache (SPEC 5.3).
const (
	LabelToken      = "dev.okteto.com/token"
	LabelExternalID = "dev.okteto.com/external-id"
)

// indexName names the index on the ServiceAccount informer's store. It must
// not collide with controller-runtime's ("namespace", "field:...").
const indexName = "devgate.dev/token-label"

// ServiceAccountMetadata is the cache key for ServiceAccounts: metadata only,
// so the cache never holds secrets or other fields.
func ServiceAccountMetadata() *metav1.PartialObjectMetadata {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	return obj
}

// CacheOptions trims cached ServiceAccounts to their name, namespace and the
// two token labels: the only fields the policy reads.
func CacheOptions() cache.ByObject {
	return cache.ByObject{Transform: func(in any) (any, error) {
		obj, ok := in.(*metav1.PartialObjectMetadata)
		if !ok {
			return in, nil
		}
		var labels map[string]string
		for _, k := range []string{LabelToken, LabelExternalID} {
			if v, ok := obj.Labels[k]; ok {
				if labels == nil {
					labels = map[string]string{}
				}
				labels[k] = v
			}
		}
		trimmed := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta}
		trimmed.Name, trimmed.Namespace, trimmed.UID = obj.Name, obj.Namespace, obj.UID
		trimmed.ResourceVersion = obj.ResourceVersion
		trimmed.Labels = labels
		return trimmed, nil
	}}
}

// Index implements policies.Lookup over the cache.
type Index struct {
	indexer toolscache.Indexer
}

// indexerInformer is what client-go's SharedIndexInformer, which
// controller-runtime's cache hands out for a cluster-wide informer, offers
// beyond cache.Informer: its store, to read the index without a List.
type indexerInformer interface {
	GetIndexer() toolscache.Indexer
}

// tokenIndexFunc keys a cached ServiceAccount by the raw value of its token
// label; a ServiceAccount without one (or with an empty one) is not indexed.
func tokenIndexFunc(obj any) ([]string, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("tokenindex: cannot index %T", obj)
	}
	if v := o.GetLabels()[LabelToken]; v != "" {
		return []string{v}, nil
	}
	return nil, nil
}

// Setup registers the index on the ServiceAccount metadata informer of c and
// starts that informer with the manager. Call it before the manager starts.
// The cache must be cluster-wide for ServiceAccounts (no DefaultNamespaces or
// per-object Namespaces), so that a single client-go informer holds them all.
func Setup(ctx context.Context, c cache.Cache) (*Index, error) {
	inf, err := c.GetInformer(ctx, ServiceAccountMetadata())
	if err != nil {
		return nil, err
	}
	ii, ok := inf.(indexerInformer)
	if !ok {
		return nil, fmt.Errorf("tokenindex: the ServiceAccount informer %T exposes no indexer; the cache must not be restricted to namespaces", inf)
	}
	if err := inf.AddIndexers(toolscache.Indexers{indexName: tokenIndexFunc}); err != nil {
		return nil, err
	}
	return &Index{indexer: ii.GetIndexer()}, nil
}

// ServiceAccountsWithToken implements policies.Lookup: the sorted
// "namespace/name" of every cached ServiceAccount whose token label is token.
// It reads the keys of the informer's index and copies no object; the slice is
// the caller's.
func (i *Index) ServiceAccountsWithToken(token string) []string {
	keys, err := i.indexer.IndexKeys(indexName, token)
	if err != nil {
		return nil
	}
	// The store's keys are "namespace/name" (MetaNamespaceKeyFunc). client-go
	// sorts them today; sorting an ordered slice again costs a pass.
	slices.Sort(keys)
	return keys
}
