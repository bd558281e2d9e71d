package faults

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestReadinessFollowsTheAPIServer stops kube-apiserver under a running
// devgate: readiness drops while its caches cannot be current, comes back
// with the API server, and the controller, whose watches broke, reconciles
// a Service created afterwards.
func TestReadinessFollowsTheAPIServer(t *testing.T) {
	c := startCluster(t, true)
	opts := c.serverOptions(logr.Discard())
	probeAddr := freeAddr(t)
	opts.HealthProbeBindAddress = probeAddr
	startServer(t, opts)
	c.waitForWebhook(t)
	eventually(t, 30*time.Second, func() error { return ready(probeAddr) })

	if err := c.cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if ready(probeAddr) == nil {
			return fmt.Errorf("still ready with the API server gone")
		}
		return nil
	})
	// It stays not ready for as long as the API server is away.
	time.Sleep(2 * time.Second)
	if ready(probeAddr) == nil {
		t.Fatal("ready again while the API server is still gone")
	}

	if err := c.cp.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() error { return ready(probeAddr) })
	c.waitForWebhook(t)

	ns := c.namespace(t, "after-outage")
	if _, err := c.cs.CoreV1().Services(ns).Create(context.Background(), autoIngressService(ns, "web", "true"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The reflectors back off up to 30 seconds between attempts while the
	// API server is away; once they reconnect the Ingress follows.
	eventually(t, 90*time.Second, func() error {
		_, err := c.cs.NetworkingV1().Ingresses(ns).Get(context.Background(), "web", metav1.GetOptions{})
		return err
	})
}

// ready returns nil when /readyz answers 200.
func ready(addr string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}
