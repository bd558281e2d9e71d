package hostindex

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeStore holds the HTTPRoute informer's store once it is added. Reviews
// read it concurrently with WatchHTTPRoutes, so it is swapped atomically.
type routeStore struct {
	mu      sync.Mutex // serialises WatchHTTPRoutes
	indexer atomic.Pointer[toolscache.Indexer]
}

func (s *routeStore) get() toolscache.Indexer {
	if p := s.indexer.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *routeStore) set(i toolscache.Indexer) { s.indexer.Store(&i) }

// WatchHTTPRoutes adds the HTTPRoute informer to the index: from then on
// every HTTPRoute's hostnames are hosts in use, and a namespace that would
// own one of them is denied, as for an Ingress's hosts. Call it only where
// HTTPRoutes are handled (endpoints.kind: httproute) and the Gateway API's
// HTTPRoute CRD is installed, with a cache whose scheme knows
// gateway.networking.k8s.io/v1: without the CRD the informer cannot start,
// and the error (a no-match error for the kind) leaves the index as it was.
// The cache may have started already: the informer then starts and syncs
// before WatchHTTPRoutes returns. A second call does nothing.
func (i *Index) WatchHTTPRoutes(ctx context.Context, c cache.Cache) error {
	i.routes.mu.Lock()
	defer i.routes.mu.Unlock()
	if i.routes.get() != nil {
		return nil
	}
	inf, err := c.GetInformer(ctx, &gatewayv1.HTTPRoute{})
	if err != nil {
		return fmt.Errorf("hostindex: HTTPRoutes: %w", err)
	}
	store, ok := inf.(indexerInformer)
	if !ok {
		return fmt.Errorf("hostindex: the HTTPRoute informer %T exposes no indexer; the cache must not be restricted to namespaces", inf)
	}
	if err := inf.AddIndexers(toolscache.Indexers{indexName: fitsIndexFunc}); err != nil {
		return fmt.Errorf("hostindex: HTTPRoutes: %w", err)
	}
	i.routes.set(store.GetIndexer())
	return nil
}
