// Package tokenindex answers "which ServiceAccounts carry this token label?"
// from a metadata-only informer cache indexed by the label's value, so the
// uniqueness check of SPEC 5.3 costs one map lookup per admission however many
// ServiceAccounts the cluster has, and never a LIST against the API server.
package tokenindex

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Label keys kept in the cache (SPEC 5.3).
const (
	LabelToken      = "dev.okteto.com/token"
	LabelExternalID = "dev.okteto.com/external-id"
)

// indexField names the index; it is not a real field selector.
const indexField = "devgate.token"

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
	reader client.Reader
}

// Setup registers the index on the cache and starts its informer with the
// manager. Call it before the manager starts.
func Setup(ctx context.Context, c cache.Cache) (*Index, error) {
	err := c.IndexField(ctx, ServiceAccountMetadata(), indexField, func(o client.Object) []string {
		if v := o.GetLabels()[LabelToken]; v != "" {
			return []string{v}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.GetInformer(ctx, ServiceAccountMetadata()); err != nil {
		return nil, err
	}
	return &Index{reader: c}, nil
}

// ServiceAccountsWithToken implements policies.Lookup.
func (i *Index) ServiceAccountsWithToken(token string) []string {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := i.reader.List(context.Background(), list, client.MatchingFields{indexField: token}); err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, sa := range list.Items {
		out = append(out, sa.Namespace+"/"+sa.Name)
	}
	return out
}
