// Package controlplane starts a real Kubernetes control plane on loopback from
// the binaries the Makefile builds: etcd and kube-apiserver through envtest,
// plus kube-controller-manager for garbage collection and namespace deletion.
// `devgate dev`, the integration tests and the e2e suite all use it, so every
// one of them exercises the same API server setup.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServerStopTimeout is how long a restartable API server may take to stop
// before it is killed.
const apiServerStopTimeout = 5 * time.Second

// Options configure a control plane.
type Options struct {
	// AssetsDir holds etcd, kube-apiserver, kube-controller-manager and kubectl.
	AssetsDir string
	// Dir receives the admin kubeconfig (Dir/kubeconfig) and the
	// controller-manager's log.
	Dir string
	// Webhooks to register. Their service client configs are rewritten to
	// URLs on loopback with a self-signed CA, whose serving certificate is
	// written to WebhookCertDir.
	Mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
	Validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	// CRDs to install once the API server is up.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// WithoutControllerManager skips kube-controller-manager (unit-style
	// integration tests that need no garbage collection start faster).
	WithoutControllerManager bool
	// Log receives the controller-manager's output; nil discards it.
	Log io.Writer
	// RestartableAPIServer keeps the API server's serving certificate in a
	// directory of its own, so StopAPIServer and StartAPIServer bring it back
	// on the same address with the same CA and clients reconnect (fault tests).
	RestartableAPIServer bool
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	env            *envtest.Environment
	kcm            *exec.Cmd
	kcmDone        chan error
	Config         *rest.Config
	KubeconfigPath string
	// WebhookHost, WebhookPort and WebhookCertDir are where the API server
	// expects devgate's webhook server.
	WebhookHost    string
	WebhookPort    int
	WebhookCertDir string
	assetsDir      string
	apiServerDir   string
}

// FindAssets returns the directory with the control-plane binaries: $DEVGATE_ASSETS,
// $KUBEBUILDER_ASSETS, or the newest bin/control-plane-* above the working directory.
func FindAssets() (string, error) {
	for _, env := range []string{"DEVGATE_ASSETS", "KUBEBUILDER_ASSETS"} {
		if dir := os.Getenv(env); dir != "" {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		matches, _ := filepath.Glob(filepath.Join(dir, "bin", "control-plane-*", "kube-apiserver"))
		if len(matches) > 0 {
			sort.Strings(matches)
			return filepath.Dir(matches[len(matches)-1]), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("control-plane binaries not found: run `make tools` or set DEVGATE_ASSETS")
		}
	}
}

// Start starts etcd, kube-apiserver and (unless disabled) kube-controller-manager.
// On error everything already started is stopped.
func Start(opts Options) (cp *ControlPlane, err error) {
	if opts.AssetsDir == "" {
		if opts.AssetsDir, err = FindAssets(); err != nil {
			return nil, err
		}
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(opts.AssetsDir, bin)); err != nil {
			return nil, fmt.Errorf("%s missing in %s: run `make tools`", bin, opts.AssetsDir)
		}
	}
	if opts.Dir == "" {
		if opts.Dir, err = os.MkdirTemp("", "devgate-controlplane-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    opts.AssetsDir,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
		CRDs:                     opts.CRDs,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks:   opts.Mutating,
			ValidatingWebhooks: opts.Validating,
			LocalServingHost:   "127.0.0.1",
		},
	}
	var apiServerDir string
	if opts.RestartableAPIServer {
		// envtest regenerates a random certificate directory, and with it the
		// CA, on every start; a directory of ours survives a restart.
		if apiServerDir, err = os.MkdirTemp("", "devgate-apiserver-"); err != nil {
			return nil, err
		}
		// kube-apiserver drains open watches before it exits; a fault test
		// wants it gone, so it is killed after a few seconds.
		env.ControlPlane.APIServer = &envtest.APIServer{CertDir: apiServerDir, StopTimeout: apiServerStopTimeout}
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		if apiServerDir != "" {
			_ = os.RemoveAll(apiServerDir)
		}
		return nil, fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	cp = &ControlPlane{
		env: env, Config: cfg, assetsDir: opts.AssetsDir, apiServerDir: apiServerDir,
		KubeconfigPath: filepath.Join(opts.Dir, "kubeconfig"),
		WebhookHost:    env.WebhookInstallOptions.LocalServingHost,
		WebhookPort:    env.WebhookInstallOptions.LocalServingPort,
		WebhookCertDir: env.WebhookInstallOptions.LocalServingCertDir,
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
			cp = nil
		}
	}()
	if err = os.WriteFile(cp.KubeconfigPath, env.KubeConfig, 0o600); err != nil {
		return cp, err
	}
	if !opts.WithoutControllerManager {
		if err = cp.startControllerManager(opts.Log); err != nil {
			return cp, err
		}
		if err = cp.waitForAggregatedRoles(); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

// waitForAggregatedRoles waits until the controller manager has filled the
// "edit" ClusterRole, so a RoleBinding to it grants something from the start.
func (cp *ControlPlane) waitForAggregatedRoles() error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		role, err := cs.RbacV1().ClusterRoles().Get(context.Background(), "edit", metav1.GetOptions{})
		if err == nil && len(role.Rules) > 0 {
			return nil
		}
		select {
		case err := <-cp.kcmDone:
			cp.kcmDone <- err
			return fmt.Errorf("kube-controller-manager exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("kube-controller-manager did not aggregate the edit ClusterRole within a minute")
}

// startControllerManager runs the controllers devgate relies on: garbage
// collection (generated Ingresses go with their Service), namespace deletion
// (tests clean up), the default ServiceAccount of new namespaces and the
// aggregated ClusterRoles (admin, edit, view) that tenants are bound to. It
// runs them with service-account credentials, as kubeadm and managed clusters
// do: the namespace controller and the garbage collector then act as
// system:serviceaccount:kube-system:..., which devgate's token rules must let
// through (tokens.systemDeleters).
func (cp *ControlPlane) startControllerManager(logw io.Writer) error {
	if logw == nil {
		logw = io.Discard
	}
	bin := filepath.Join(cp.assetsDir, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("kube-controller-manager missing in %s: run `make tools`", cp.assetsDir)
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+cp.KubeconfigPath,
		"--controllers=garbagecollector,namespace,serviceaccount,clusterrole-aggregation",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--concurrent-gc-syncs=5",
	)
	cmd.Stdout, cmd.Stderr = logw, logw
	// Its own process group, and killed with its parent: no orphan survives
	// devgate or a test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cp.kcm = cmd
	cp.kcmDone = make(chan error, 1)
	go func() { cp.kcmDone <- cmd.Wait() }()
	return nil
}

// WebhookURL is the base URL the webhook server is expected at, for webhook
// configurations registered by URL (the paths are appended).
func (cp *ControlPlane) WebhookURL() string {
	return "https://" + net.JoinHostPort(cp.WebhookHost, strconv.Itoa(cp.WebhookPort))
}

// WebhookCABundle is the PEM bundle that verifies the serving certificate in
// WebhookCertDir: the caBundle of such webhook configurations.
func (cp *ControlPlane) WebhookCABundle() ([]byte, error) {
	return os.ReadFile(filepath.Join(cp.WebhookCertDir, "tls.crt"))
}

// KubectlPath is the kubectl built with the control plane.
func (cp *ControlPlane) KubectlPath() string { return filepath.Join(cp.assetsDir, "kubectl") }

// Kubectl returns a kubectl command against this control plane as the admin.
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, cp.KubectlPath(), append([]string{"--kubeconfig", cp.KubeconfigPath}, args...)...)
}

// Stop stops everything Start started and removes the webhook certificates.
func (cp *ControlPlane) Stop() error {
	var errs []error
	if cp.kcm != nil && cp.kcm.Process != nil {
		_ = syscall.Kill(-cp.kcm.Process.Pid, syscall.SIGTERM)
		select {
		case <-cp.kcmDone:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cp.kcm.Process.Pid, syscall.SIGKILL)
			<-cp.kcmDone
		}
		cp.kcm = nil
	}
	if cp.env != nil && cp.apiServerDir != "" {
		errs = append(errs, cp.StopAPIServer())
	}
	if cp.env != nil {
		if err := cp.env.Stop(); err != nil {
			errs = append(errs, err)
		}
		cp.env = nil
	}
	if cp.apiServerDir != "" {
		errs = append(errs, os.RemoveAll(cp.apiServerDir))
		cp.apiServerDir = ""
	}
	return errors.Join(errs...)
}

// StopAPIServer stops kube-apiserver alone; etcd keeps the cluster's state.
// It needs Options.RestartableAPIServer.
func (cp *ControlPlane) StopAPIServer() error {
	if cp.apiServerDir == "" {
		return errors.New("the control plane was not started with RestartableAPIServer")
	}
	err := cp.env.ControlPlane.APIServer.Stop()
	if err == nil {
		return nil
	}
	// envtest kills kube-apiserver once it outlives its stop timeout and
	// reports that as an error: what counts is that it is gone.
	addr := cp.env.ControlPlane.APIServer.SecureServing.ListenAddr.HostPort()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, dialErr := net.DialTimeout("tcp", addr, time.Second)
		if dialErr != nil {
			return nil
		}
		conn.Close()
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same
// address and with the same certificates, and returns once it is healthy.
func (cp *ControlPlane) StartAPIServer() error {
	if cp.apiServerDir == "" {
		return errors.New("the control plane was not started with RestartableAPIServer")
	}
	return cp.env.ControlPlane.APIServer.Start()
}
