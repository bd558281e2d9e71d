package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/test/testcert"
	"devgate.dev/devgate/webhook"
)

// load sends server-side dry runs through the API server from a few workers
// until stopped, counting every answer; a failure is any error or an answer
// devgate did not mutate.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
}

func startLoad(c *cluster, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.dryRun(ctx, "default", fmt.Sprintf("load-%d-%d", w, i))
				cancel()
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if l.firstErr == nil {
						l.firstErr = err
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

// waitFor returns once n more requests have succeeded since the call.
func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	eventually(t, time.Minute, func() error {
		if l.ok.Load() < target {
			return errNotYet
		}
		return nil
	})
}

// finish stops the workers and waits for them; it may be called twice.
func (l *load) finish() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// TestServingCertificateRotatesUnderLoad rotates devgate's serving
// certificate to one from a new CA while requests keep flowing, the way a
// CA rotation must go: trust both CAs, swap the certificate, trust only the
// new CA. No request may fail.
func TestServingCertificateRotatesUnderLoad(t *testing.T) {
	c := startCluster(t, false)
	startServer(t, c.serverOptions(logr.Discard()))
	c.waitForWebhook(t)

	l := startLoad(c, 4)
	defer l.finish()
	l.waitFor(t, 20)

	newCA, err := testcert.NewCA("devgate-rotated-ca")
	if err != nil {
		t.Fatal(err)
	}
	oldCA := c.caBundle(t)
	c.setCABundle(t, append(append([]byte{}, oldCA...), newCA.PEM...))
	l.waitFor(t, 20)

	serving, err := newCA.Sign("devgate", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	// The key first: until the certificate matches it, the watcher keeps the
	// pair in force, as it would with a half-updated Secret volume.
	writeFile(t, filepath.Join(c.cp.WebhookCertDir, "tls.key"), string(serving.KeyPEM))
	writeFile(t, filepath.Join(c.cp.WebhookCertDir, "tls.crt"), string(serving.CertPEM))
	eventually(t, 30*time.Second, func() error { return c.servesCertificate(serving.Cert) })
	l.waitFor(t, 20)

	// Only the new CA is trusted now: the API server's new connections can
	// only succeed with the new certificate.
	c.setCABundle(t, newCA.PEM)
	l.waitFor(t, 50)
	l.finish()

	if n := l.failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", n, n+l.ok.Load(), l.firstErr)
	}
	t.Logf("%d requests, none failed", l.ok.Load())
}

// caBundle returns the CA the webhook configurations trust.
func (c *cluster) caBundle(t *testing.T) []byte {
	t.Helper()
	mwc, err := c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), webhookConfigName(t), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mwc.Webhooks[0].ClientConfig.CABundle
}

// setCABundle sets the CA bundle of every devgate webhook.
func (c *cluster) setCABundle(t *testing.T, bundle []byte) {
	t.Helper()
	ctx := context.Background()
	name := webhookConfigName(t)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		mwc, err := c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range mwc.Webhooks {
			mwc.Webhooks[i].ClientConfig.CABundle = bundle
		}
		_, err = c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, mwc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		vwc, err := c.cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range vwc.Webhooks {
			vwc.Webhooks[i].ClientConfig.CABundle = bundle
		}
		_, err = c.cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, vwc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func webhookConfigName(t *testing.T) string {
	t.Helper()
	m, _ := webhook.Configurations(all.Policies(), webhook.ClientConfig{ServiceNamespace: "devgate", ServiceName: "devgate"}, nil)
	return m.Name
}

// servesCertificate reports whether the webhook listener presents want.
func (c *cluster) servesCertificate(want *x509.Certificate) error {
	conn, err := tls.Dial("tcp", c.webhookAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; !bytes.Equal(got.Raw, want.Raw) {
		return errors.New("still serving the old certificate")
	}
	return nil
}
