package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/server"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/test/kubetest"
	"devgate.dev/devgate/webhook"
)

const (
	domain     = "okteto.example.com"
	baseConfig = "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: " + domain + "\n"
)

// cluster is a control plane with devgate's webhooks registered, and the
// configuration file its servers read.
type cluster struct {
	cp         *controlplane.ControlPlane
	cs         *kubernetes.Clientset
	configPath string
}

// startCluster starts etcd and kube-apiserver (no controller manager: these
// tests need no garbage collection) and stops them when the test ends.
func startCluster(t *testing.T, restartable bool) *cluster {
	t.Helper()
	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yaml")
	writeFile(t, configPath, baseConfig)
	mutating, validating := webhook.Configurations(all.Policies(),
		webhook.ClientConfig{ServiceNamespace: "devgate", ServiceName: "devgate"}, config.Default().ExcludedNamespaces)
	cp, err := controlplane.Start(controlplane.Options{
		Dir:                      dir,
		Mutating:                 []*admissionregistrationv1.MutatingWebhookConfiguration{mutating},
		Validating:               []*admissionregistrationv1.ValidatingWebhookConfiguration{validating},
		WithoutControllerManager: true,
		RestartableAPIServer:     restartable,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return &cluster{cp: cp, cs: kubernetes.NewForConfigOrDie(cp.Config), configPath: configPath}
}

// webhookAddr is where the API server calls devgate's webhooks.
func (c *cluster) webhookAddr() string {
	return net.JoinHostPort(c.cp.WebhookHost, strconv.Itoa(c.cp.WebhookPort))
}

// devgate is one running server.
type devgate struct {
	srv    *server.Server
	cancel context.CancelFunc
	done   chan error
}

// serverOptions are the options of a server on the cluster's registered
// webhook port; tests adjust them before startServer.
func (c *cluster) serverOptions(log logr.Logger) server.Options {
	return server.Options{
		ConfigPath: c.configPath, RestConfig: c.cp.Config,
		CertDir: c.cp.WebhookCertDir, WebhookHost: c.cp.WebhookHost, WebhookPort: c.cp.WebhookPort,
		MetricsBindAddress: "0", HealthProbeBindAddress: "0",
		Namespace: "devgate", ConfigPollInterval: 100 * time.Millisecond, Logger: log,
		SkipControllerNameValidation: true,
	}
}

// startServer runs a server until the test ends (or stop is called) and
// waits until its caches are synced and its webhooks listen.
func startServer(t *testing.T, opts server.Options) *devgate {
	t.Helper()
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &devgate{srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Start(ctx) }()
	t.Cleanup(func() { d.stop(t) })
	select {
	case <-srv.Started:
	case err := <-d.done:
		d.done <- err
		t.Fatalf("server stopped while starting: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("server not started within a minute")
	}
	return d
}

// stop cancels the server and waits for it; calling it twice is harmless.
func (d *devgate) stop(t *testing.T) {
	d.cancel()
	select {
	case err, ok := <-d.done:
		if ok && err != nil {
			t.Errorf("server stopped with %v", err)
		}
		if ok {
			close(d.done)
		}
	case <-time.After(90 * time.Second):
		t.Error("server did not stop within 90 seconds")
	}
}

// autoIngressService is a Service asking for a public endpoint.
func autoIngressService(ns, name, value string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{"dev.okteto.com/auto-ingress": value}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}

// dryRun sends a server-side dry run of a Service through the API server and
// returns an error unless devgate's mutation shows in the answer.
func (c *cluster) dryRun(ctx context.Context, ns, name string) error {
	out, err := c.cs.CoreV1().Services(ns).Create(ctx, autoIngressService(ns, name, "true"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return err
	}
	want := fmt.Sprintf("https://%s-%s.%s", name, ns, domain)
	if got := out.Annotations["devgate.dev/endpoint"]; got != want {
		return fmt.Errorf("endpoint annotation %q, want %q: the webhook did not mutate", got, want)
	}
	return nil
}

// waitForWebhook retries dry runs until one goes through devgate.
func (c *cluster) waitForWebhook(t *testing.T) {
	t.Helper()
	eventually(t, time.Minute, func() error { return c.dryRun(context.Background(), "default", "probe") })
}

func (c *cluster) namespace(t *testing.T, name string) string {
	t.Helper()
	_, err := c.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// eventually retries check until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kubetest.Eventually(t, timeout, 100*time.Millisecond, check)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freePort(t *testing.T) int {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logBuffer collects every log line of a server, at every verbosity.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		fmt.Fprintln(&b.buf, prefix, args)
	}, funcr.Options{Verbosity: 10})
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var errNotYet = errors.New("not yet")
