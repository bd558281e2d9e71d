package auth

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/internal/tokenindex"
	"devgate.dev/devgate/policies/tokens"
)

// digestField names the cache indexes by token digest; not a real field.
const digestField = "devgate.auth.tokenDigest"

// cacheOptions are the informers the auth service needs: ServiceAccounts as
// metadata trimmed to the token labels (as for the webhook's token index), and
// only the Secrets of type devgate.dev/token, trimmed to what the resolver reads.
func cacheOptions() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		tokenindex.ServiceAccountMetadata(): tokenindex.CacheOptions(),
		&corev1.Secret{}: {
			Field:     fields.OneTermEqualSelector("type", string(tokens.TypeToken)),
			Transform: trimSecret,
		},
		namespaceMetadata(): {Transform: trimNamespace},
	}
}

// namespaceMetadata is the cache key for Namespaces: metadata only, so that
// /verify refuses a namespace that does not exist without a review.
func namespaceMetadata() *metav1.PartialObjectMetadata {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return obj
}

// trimNamespace keeps a Namespace's name, UID and resource version.
func trimNamespace(in any) (any, error) {
	obj, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta}
	out.Name, out.UID, out.ResourceVersion = obj.Name, obj.UID, obj.ResourceVersion
	return out, nil
}

// trimSecret keeps of a token Secret what the resolver reads, with the token
// replaced by its digest: the cache never holds a usable token, and the
// last-applied-configuration annotation, which repeats it, is dropped.
func trimSecret(in any) (any, error) {
	s, ok := in.(*corev1.Secret)
	if !ok {
		return in, nil
	}
	out := &corev1.Secret{TypeMeta: s.TypeMeta, Type: s.Type}
	out.Name, out.Namespace, out.UID = s.Name, s.Namespace, s.UID
	out.ResourceVersion, out.CreationTimestamp = s.ResourceVersion, s.CreationTimestamp
	// client-go may transform an object twice: a trimmed Secret keeps its digest.
	if token := s.Data[tokens.KeyToken]; len(token) > 0 {
		out.Annotations = map[string]string{secretDigestAnnotation: DigestOf(string(token)).String()}
	} else if d, ok := s.Annotations[secretDigestAnnotation]; ok {
		out.Annotations = map[string]string{secretDigestAnnotation: d}
	}
	out.Data = map[string][]byte{}
	for _, k := range []string{tokens.KeyUserID, tokens.KeyTTL, tokens.KeyEnabled} {
		if v, ok := s.Data[k]; ok {
			out.Data[k] = v
		}
	}
	return out, nil
}

// secretIndex is the digest of a (trimmed) token Secret's token.
func secretIndex(o client.Object) []string {
	s, ok := o.(*corev1.Secret)
	if !ok || (s.Annotations[secretDigestAnnotation] == "" && len(s.Data[tokens.KeyToken]) == 0) {
		return nil
	}
	return []string{secretDigest(s).String()}
}

// serviceAccountIndex is the digest of a ServiceAccount's token label.
func serviceAccountIndex(o client.Object) []string {
	if v := o.GetLabels()[tokens.LabelToken]; v != "" {
		return []string{DigestOf(v).String()}
	}
	return nil
}

// setupCache registers the indexes and informers on c; call before c starts.
func setupCache(ctx context.Context, c cache.Cache) (Store, error) {
	if err := c.IndexField(ctx, &corev1.Secret{}, digestField, secretIndex); err != nil {
		return nil, err
	}
	if err := c.IndexField(ctx, tokenindex.ServiceAccountMetadata(), digestField, serviceAccountIndex); err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{&corev1.Secret{}, tokenindex.ServiceAccountMetadata(), namespaceMetadata()} {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return nil, err
		}
	}
	return cacheStore{reader: c}, nil
}

// cacheStore implements Store with index lookups in the informer caches,
// and NamespaceChecker.
type cacheStore struct{ reader client.Reader }

func (s cacheStore) NamespaceExists(ctx context.Context, name string) (bool, error) {
	obj := namespaceMetadata()
	err := s.reader.Get(ctx, client.ObjectKey{Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (s cacheStore) TokenSecrets(ctx context.Context, digest string) ([]*corev1.Secret, error) {
	var list corev1.SecretList
	if err := s.reader.List(ctx, &list, client.MatchingFields{digestField: digest}); err != nil {
		return nil, err
	}
	out := make([]*corev1.Secret, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (s cacheStore) ServiceAccounts(ctx context.Context, digest string) ([]*metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := s.reader.List(ctx, list, client.MatchingFields{digestField: digest}); err != nil {
		return nil, err
	}
	out := make([]*metav1.PartialObjectMetadata, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
