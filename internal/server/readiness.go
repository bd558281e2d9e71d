package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// apiServerTimeout bounds one look at the API server from the readiness
// probe: a probe that hangs is a failed probe anyway.
const apiServerTimeout = 2 * time.Second

// apiServerCheck reports not ready while the API server does not answer its
// /readyz: the informer caches cannot be current then, and the token index
// would judge uniqueness on stale data. Answers are kept for a second so
// frequent probes cost the API server at most one request a second.
func apiServerCheck(cfg *rest.Config) healthz.Checker {
	var (
		mu      sync.Mutex
		checked time.Time
		last    error
	)
	cs, err := kubernetes.NewForConfig(cfg)
	return func(*http.Request) error {
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if time.Since(checked) < time.Second {
			return last
		}
		ctx, cancel := context.WithTimeout(context.Background(), apiServerTimeout)
		defer cancel()
		_, last = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if last != nil {
			last = fmt.Errorf("the API server does not answer, informer caches are stale: %w", last)
		}
		checked = time.Now()
		return last
	}
}
