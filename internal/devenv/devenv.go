// Package devenv is the embedded development environment of `devgate dev`: a
// local control plane with devgate's webhooks registered by URL, and devgate's
// server running in-process. The integration tests and the e2e suite start the
// very same environment.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/server"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/webhook"
)

// DefaultConfigYAML is the configuration `devgate dev` uses without --config.
const DefaultConfigYAML = `apiVersion: devgate.dev/v1alpha1
kind: Config
domain: okteto.example.com
`

// ProbeNamespace is where the readiness probe's server-side dry run goes.
const ProbeNamespace = "default"

// Options configure the environment.
type Options struct {
	ConfigPath string
	Dir        string
	AssetsDir  string
	Logger     logr.Logger
	// ControlPlaneLog receives kube-controller-manager's output.
	ControlPlaneLog io.Writer
	// WithoutControllerManager skips garbage collection (faster start).
	WithoutControllerManager bool
	// ConfigPollInterval overrides how often the configuration is re-read.
	ConfigPollInterval time.Duration
}

// Env is a running environment.
type Env struct {
	ControlPlane *controlplane.ControlPlane
	cancel       context.CancelFunc
	serverDone   chan error
}

// KubeconfigPath is the admin kubeconfig.
func (e *Env) KubeconfigPath() string { return e.ControlPlane.KubeconfigPath }

// Start brings up the control plane, registers devgate's webhooks, starts the
// server and returns once a request through the API server has reached the
// webhook. On error everything already started is stopped.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	if !cfg.Managed(ProbeNamespace) {
		return nil, fmt.Errorf("%s: the %q namespace must be managed: the readiness probe runs there", opts.ConfigPath, ProbeNamespace)
	}
	// envtest rewrites the service references into loopback URLs and
	// generates the CA and serving certificate.
	mutating, validating := webhook.Configurations(all.Policies(),
		webhook.ClientConfig{ServiceNamespace: "devgate", ServiceName: "devgate"}, cfg.ExcludedNamespaces)
	cp, err := controlplane.Start(controlplane.Options{
		AssetsDir: opts.AssetsDir, Dir: opts.Dir, Log: opts.ControlPlaneLog,
		Mutating:                 []*admissionregistrationv1.MutatingWebhookConfiguration{mutating},
		Validating:               []*admissionregistrationv1.ValidatingWebhookConfiguration{validating},
		WithoutControllerManager: opts.WithoutControllerManager,
		CRDs:                     []*apiextensionsv1.CustomResourceDefinition{configCRD()},
	})
	if err != nil {
		return nil, err
	}
	env := &Env{ControlPlane: cp, serverDone: make(chan error, 1)}
	defer func() {
		if err != nil {
			_ = env.Stop(context.Background())
		}
	}()
	srv, err := server.New(server.Options{
		ConfigPath: opts.ConfigPath, RestConfig: cp.Config,
		CertDir: cp.WebhookCertDir, WebhookHost: cp.WebhookHost, WebhookPort: cp.WebhookPort,
		// Loopback-only, on free ports: several environments may run at once.
		MetricsBindAddress: "127.0.0.1:0", HealthProbeBindAddress: "0",
		Namespace: "devgate", ConfigPollInterval: opts.ConfigPollInterval, Logger: opts.Logger,
	})
	if err != nil {
		return env, err
	}
	srvCtx, cancel := context.WithCancel(context.Background())
	env.cancel = cancel
	go func() { env.serverDone <- srv.Start(srvCtx) }()
	select {
	case <-srv.Started:
	case err := <-env.serverDone:
		env.serverDone <- err
		return env, fmt.Errorf("devgate server stopped while starting: %w", err)
	case <-ctx.Done():
		return env, ctx.Err()
	case <-time.After(2 * time.Minute):
		return env, errors.New("devgate server did not become ready within 2 minutes")
	}
	if err := waitForWebhook(ctx, cp); err != nil {
		return env, err
	}
	return env, nil
}

// waitForWebhook sends server-side dry runs through the API server until one is
// answered by devgate's webhook: the count of reviews served goes up.
func waitForWebhook(ctx context.Context, cp *controlplane.ControlPlane) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	probe := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "devgate-probe-", Namespace: ProbeNamespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	deadline := time.Now().Add(time.Minute)
	var lastErr error
	for time.Now().Before(deadline) {
		before := webhook.ReviewsServed()
		_, lastErr = cs.CoreV1().Services(ProbeNamespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if lastErr == nil && webhook.ReviewsServed() > before {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("no request through the API server reached the webhook within a minute (last error: %v)", lastErr)
}

// Stop stops the server and the control plane.
func (e *Env) Stop(ctx context.Context) error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
		select {
		case err := <-e.serverDone:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			errs = append(errs, errors.New("devgate server did not stop in time"))
		}
	}
	if e.ControlPlane != nil {
		errs = append(errs, e.ControlPlane.Stop())
	}
	return errors.Join(errs...)
}
