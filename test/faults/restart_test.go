package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestControllerRestartedMidReconcileConverges stops devgate while the
// controller is working through a batch of Services, some of which have just
// given up their endpoint, and starts a new one: every Service ends with
// exactly the Ingress it should have, owned by it, and nothing else.
func TestControllerRestartedMidReconcileConverges(t *testing.T) {
	c := startCluster(t, false)
	first := startServer(t, c.serverOptions(logr.Discard()))
	c.waitForWebhook(t)
	ns := c.namespace(t, "restart")
	ctx := context.Background()

	const total, dropped = 20, 5
	for i := range total {
		if _, err := c.cs.CoreV1().Services(ns).Create(ctx, autoIngressService(ns, fmt.Sprintf("svc-%02d", i), "true"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Mid-reconcile: some Ingresses exist, and the first Services give up
	// their endpoint (their Ingress must go) just before the stop.
	eventually(t, 30*time.Second, func() error {
		list, err := c.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) == 0 {
			return fmt.Errorf("no Ingress yet: %v", err)
		}
		return nil
	})
	for i := range dropped {
		patch := []byte(`{"metadata":{"annotations":{"dev.okteto.com/auto-ingress":"false"}}}`)
		if _, err := c.cs.CoreV1().Services(ns).Patch(ctx, fmt.Sprintf("svc-%02d", i), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first.stop(t)
	if list, err := c.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Logf("stopped with %d Ingresses for %d Services asking for one", len(list.Items), total-dropped)
	}

	startServer(t, c.serverOptions(logr.Discard()))
	eventually(t, time.Minute, func() error { return converged(ctx, c, ns, total, dropped) })
}

// converged checks that svc-<i> has its Ingress exactly when i >= dropped,
// owned by that Service, and that no other Ingress exists.
func converged(ctx context.Context, c *cluster, ns string, total, dropped int) error {
	services, err := c.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	uids := map[string]types.UID{}
	for _, s := range services.Items {
		uids[s.Name] = s.UID
	}
	ingresses, err := c.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	have := map[string]networkingv1.Ingress{}
	for _, ing := range ingresses.Items {
		ref := metav1.GetControllerOf(&ing)
		if ref == nil || ref.Kind != "Service" || ref.Name != ing.Name || ref.UID != uids[ing.Name] {
			return fmt.Errorf("Ingress %s is not owned by its Service: %+v", ing.Name, ing.OwnerReferences)
		}
		have[ing.Name] = ing
	}
	for i := range total {
		name := fmt.Sprintf("svc-%02d", i)
		_, ok := have[name]
		if want := i >= dropped; ok != want {
			return fmt.Errorf("Ingress %s exists: %v, want %v", name, ok, want)
		}
	}
	if len(have) != total-dropped {
		return fmt.Errorf("%d Ingresses, want %d", len(have), total-dropped)
	}
	return nil
}
