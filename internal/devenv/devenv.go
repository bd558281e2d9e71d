// Package devenv is the embedded development environment of `devgate dev`: a
// local control plane with devgate's webhooks registered by URL, and devgate's
// server running in-process. The integration tests and the e2e suite start the
// very same environment.
package devenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"devgate.dev/devgate/internal/auth"
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
	// MetricsBindAddress is where the server's /metrics listens; a free
	// loopback port when empty, so that several environments may run at once.
	MetricsBindAddress string

	// CRDs are installed with the control plane, besides devgate's Config.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// WithoutWebhooks registers no webhook configuration: the caller
	// registers its own (the e2e suite's Helm chart in webhook.url mode)
	// pointing at the control plane's WebhookURL with its WebhookCABundle.
	// Start then does not wait for a request through the API server.
	WithoutWebhooks bool
	// BeforeServer runs once the control plane is up, before devgate's
	// server starts, e.g. to install the RBAC the server will run with.
	BeforeServer func(ctx context.Context, cp *controlplane.ControlPlane) error
	// Impersonate, when set, is the identity of the server's client (e.g. a
	// ServiceAccount of the chart), so the server gets exactly its RBAC
	// instead of the admin's.
	Impersonate *rest.ImpersonationConfig
	// WrapTransport, when set, wraps the server's client transport, e.g. to
	// record the calls it makes (the e2e suite compares them with the
	// chart's RBAC).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// AuthBindAddress, when set, also runs the auth service (`devgate
	// auth`) there with the admin's credentials; its links point there
	// unless the configuration sets auth.publicURL.
	AuthBindAddress string
}

// Namespace is devgate's own namespace in the environment: users,
// invitations and connectors live there.
const Namespace = "devgate"

// Env is a running environment.
type Env struct {
	ControlPlane *controlplane.ControlPlane
	cancel       context.CancelFunc
	serverDone   chan error
	authCancel   context.CancelFunc
	authDone     chan error
	authURL      string
}

// AuthURL is the auth service's base URL (http://ADDRESS/auth), "" when it
// does not run.
func (e *Env) AuthURL() string { return e.authURL }

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
	cpOpts := controlplane.Options{
		AssetsDir: opts.AssetsDir, Dir: opts.Dir, Log: opts.ControlPlaneLog,
		WithoutControllerManager: opts.WithoutControllerManager,
		CRDs:                     append([]*apiextensionsv1.CustomResourceDefinition{configCRD()}, opts.CRDs...),
	}
	if !opts.WithoutWebhooks {
		// envtest rewrites the service references into loopback URLs and
		// generates the CA and serving certificate.
		mutating, validating := webhook.Configurations(all.Registered(cfg),
			webhook.ClientConfig{ServiceNamespace: "devgate", ServiceName: "devgate"}, cfg.ExcludedNamespaces)
		cpOpts.Mutating = []*admissionregistrationv1.MutatingWebhookConfiguration{mutating}
		cpOpts.Validating = []*admissionregistrationv1.ValidatingWebhookConfiguration{validating}
	}
	cp, err := controlplane.Start(cpOpts)
	if err != nil {
		return nil, err
	}
	env := &Env{ControlPlane: cp, serverDone: make(chan error, 1)}
	defer func() {
		if err != nil {
			_ = env.Stop(context.Background())
		}
	}()
	if opts.BeforeServer != nil {
		if err := opts.BeforeServer(ctx, cp); err != nil {
			return env, err
		}
	}
	restConfig := rest.CopyConfig(cp.Config)
	if opts.Impersonate != nil {
		restConfig.Impersonate = *opts.Impersonate
	}
	if opts.WrapTransport != nil {
		restConfig.Wrap(opts.WrapTransport)
	}
	srv, err := server.New(server.Options{
		ConfigPath: opts.ConfigPath, RestConfig: restConfig,
		CertDir: cp.WebhookCertDir, WebhookHost: cp.WebhookHost, WebhookPort: cp.WebhookPort,
		MetricsBindAddress: cmp.Or(opts.MetricsBindAddress, "127.0.0.1:0"), HealthProbeBindAddress: "0",
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
	if !opts.WithoutWebhooks {
		if err := waitForWebhook(ctx, cp); err != nil {
			return env, err
		}
	}
	// Once the webhook answers: creating a namespace goes through it.
	if err := setupNamespace(ctx, cp, opts.AuthBindAddress != ""); err != nil {
		return env, err
	}
	if opts.AuthBindAddress != "" {
		if err := env.startAuth(ctx, opts); err != nil {
			return env, err
		}
	}
	return env, nil
}

// setupNamespace creates devgate's own namespace and, for the auth service,
// what the chart would install: the ClusterRole devgate-member that
// invitations bind, and the admin user's right to manage invitations.
func setupNamespace(ctx context.Context, cp *controlplane.ControlPlane, withAuth bool) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	create := func(_ any, err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	// Looked up first: a caller (the e2e suite's Helm install) may have
	// created it, and a create would still go through admission.
	if _, err := cs.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		err = create(cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}))
		if err != nil {
			return fmt.Errorf("namespace %s: %w", Namespace, err)
		}
	} else if err != nil {
		return fmt.Errorf("namespace %s: %w", Namespace, err)
	}
	if !withAuth {
		return nil
	}
	if err := create(cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: auth.MemberClusterRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch"}},
		},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := create(cs.RbacV1().Roles(Namespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "devgate-admin"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get", "list", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list"}},
		},
	}, metav1.CreateOptions{})); err != nil {
		return err
	}
	return create(cs.RbacV1().RoleBindings(Namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "devgate-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: auth.AdminUser, Namespace: Namespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "devgate-admin"},
	}, metav1.CreateOptions{}))
}

// startAuth runs the auth service on opts.AuthBindAddress and waits until it
// is ready (its caches synced, the admin user ensured).
func (e *Env) startAuth(ctx context.Context, opts Options) error {
	ln, err := net.Listen("tcp", opts.AuthBindAddress)
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}
	base := "http://" + ln.Addr().String()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := auth.New(auth.Options{
		ConfigPath: opts.ConfigPath, RestConfig: rest.CopyConfig(e.ControlPlane.Config), Listener: ln,
		MetricsBindAddress: "0", CookieSecret: secret, Namespace: Namespace, PublicURL: base + "/auth",
		ConfigPollInterval: opts.ConfigPollInterval, Logger: opts.Logger.WithName("auth"),
	})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("auth service: %w", err)
	}
	authCtx, cancel := context.WithCancel(context.Background())
	e.authCancel, e.authDone = cancel, make(chan error, 1)
	go func() { e.authDone <- srv.Start(authCtx) }()
	e.authURL = base + "/auth"
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the auth service is not ready after a minute (last error: %v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-e.authDone:
			e.authDone <- err
			return fmt.Errorf("the auth service stopped while starting: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitForWebhook sends server-side dry runs through the API server until one is
// answered by devgate's webhook: the count of reviews served goes up.
func waitForWebhook(ctx context.Context, cp *controlplane.ControlPlane) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	// The annotation (with the value that asks for nothing) makes the
	// webhooks' matchConditions send the probe to devgate; a plain Service
	// never reaches it.
	probe := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "devgate-probe-", Namespace: ProbeNamespace,
			Annotations: map[string]string{"dev.okteto.com/auto-ingress": "false"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
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
	if e.authCancel != nil {
		e.authCancel()
		select {
		case err := <-e.authDone:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			errs = append(errs, errors.New("the auth service did not stop in time"))
		}
	}
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
