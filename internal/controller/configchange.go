package controller

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// onConfigChange is a source that queues requests(ctx) after each change of
// the configuration, which changed signals by closing the channel it
// returns. It runs in its controller, so only on the leader.
func onConfigChange(changed func() <-chan struct{}, requests func(context.Context) []reconcile.Request) source.Source {
	return source.Func(func(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-changed():
				}
				for _, req := range requests(ctx) {
					queue.Add(req)
				}
			}
		}()
		return nil
	})
}
