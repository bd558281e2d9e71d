// Package e2e installs devgate's Helm chart the way a platform team would and
// drives the cluster the way its users do. The cluster is the local control
// plane of `devgate dev` (etcd, kube-apiserver, kube-controller-manager on
// loopback, with cert-manager's CRDs from its Go module); it has no kubelet,
// so the chart runs in its webhook.url mode: the API server calls a devgate
// server that this test runs in-process, under the chart's own
// ServiceAccount and RBAC, reading the configuration the chart renders.
package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/devenv"
	"devgate.dev/devgate/test/chartrender"
)

const (
	release   = "devgate"
	releaseNS = "devgate" // devgate's own namespace, never judged by its webhooks
	domain    = "okteto.example.com"
)

// values are the e2e release's values on top of the chart's defaults; the
// webhook URL and CA are only known once the control plane runs.
const values = `config:
  domain: ` + domain + `
  tokens:
    issuers: [token-issuer]
`

var (
	testenv env.Environment
	s       = &suite{}
	// serverCalls records what devgate's server asks the API server for.
	serverCalls = &apiCalls{}
)

// suite is what TestMain starts and every feature uses.
type suite struct {
	dir        string
	helmBin    string
	configPath string
	env        *devenv.Env
	clientset  *kubernetes.Clientset
	stopSync   context.CancelFunc
	syncDone   chan struct{}
}

func TestMain(m *testing.M) {
	testenv = env.NewWithConfig(envconf.New())
	// Finish runs even when Setup fails, so nothing started is left running.
	testenv.Setup(s.start).Finish(s.stop)
	os.Exit(testenv.Run(m))
}

// start brings up the control plane with cert-manager's and Gateway API's CRDs, installs the
// chart in webhook.url mode, then starts devgate as the chart's ServiceAccount
// and waits until a request through the API server reaches it through the
// chart's webhook configurations.
func (s *suite) start(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	var err error
	if _, err = controlplane.FindAssets(); err != nil {
		return ctx, err
	}
	if s.helmBin, err = chartrender.FindHelm(); err != nil {
		return ctx, err
	}
	if s.dir, err = os.MkdirTemp("", "devgate-e2e-"); err != nil {
		return ctx, err
	}
	crds, err := devenv.CertManagerCRDs(ctx)
	if err != nil {
		return ctx, err
	}
	gatewayCRDs, err := devenv.GatewayAPICRDs(ctx)
	if err != nil {
		return ctx, err
	}
	crds = append(crds, gatewayCRDs...)
	if err := os.WriteFile(filepath.Join(s.dir, "values.yaml"), []byte(values), 0o600); err != nil {
		return ctx, err
	}
	// devgate needs its file before the release exists: the chart renders
	// it offline with the same values, and the sync below keeps it equal to
	// the installed ConfigMap from then on.
	s.configPath = filepath.Join(s.dir, "config.yaml")
	if err := s.writeRenderedConfig(ctx); err != nil {
		return ctx, err
	}
	logFile, err := os.Create(filepath.Join(s.dir, "controlplane.log"))
	if err != nil {
		return ctx, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	s.env, err = devenv.Start(startCtx, devenv.Options{
		ConfigPath: s.configPath, Dir: s.dir, Logger: logr.Discard(), ControlPlaneLog: logFile,
		ConfigPollInterval: 200 * time.Millisecond,
		CRDs:               crds,
		WithoutWebhooks:    true,
		BeforeServer:       s.install,
		Impersonate: &rest.ImpersonationConfig{
			UserName: "system:serviceaccount:" + releaseNS + ":" + release,
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"},
		},
		WrapTransport: serverCalls.wrap,
	})
	if err != nil {
		return ctx, fmt.Errorf("starting the control plane and devgate: %w", err)
	}
	cfg.WithKubeconfigFile(s.env.KubeconfigPath())
	if err := waitForChartWebhooks(startCtx); err != nil {
		return ctx, err
	}
	return ctx, nil
}

// install is `helm install` of the chart, pointing its webhooks at the
// server devenv is about to start; then the configuration sync starts.
func (s *suite) install(ctx context.Context, cp *controlplane.ControlPlane) error {
	s.clientset = kubernetes.NewForConfigOrDie(cp.Config)
	ca, err := cp.WebhookCABundle()
	if err != nil {
		return err
	}
	if _, err := s.helm(ctx, cp.KubeconfigPath, "install", release, chartDir(), "--namespace", releaseNS, "--create-namespace",
		"--values", filepath.Join(s.dir, "values.yaml"),
		"--set", "webhook.url="+cp.WebhookURL(),
		"--set", "webhook.caBundle="+base64.StdEncoding.EncodeToString(ca)); err != nil {
		return err
	}
	syncCtx, cancel := context.WithCancel(context.Background())
	s.stopSync, s.syncDone = cancel, make(chan struct{})
	go func() {
		defer close(s.syncDone)
		syncConfigMap(syncCtx, s.clientset, releaseNS, release, s.configPath)
	}()
	return nil
}

func (s *suite) stop(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	var errs []error
	if s.stopSync != nil {
		s.stopSync()
		<-s.syncDone
	}
	if s.env != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		errs = append(errs, s.env.Stop(stopCtx))
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "e2e teardown:", err)
		return ctx, err
	}
	return ctx, nil
}

func (s *suite) writeRenderedConfig(ctx context.Context) error {
	out, err := chartrender.Template(ctx, release, releaseNS, "--values", filepath.Join(s.dir, "values.yaml"))
	if err != nil {
		return err
	}
	objs, err := chartrender.Decode(out)
	if err != nil {
		return err
	}
	data, err := chartrender.ConfigFile(objs, release)
	if err != nil {
		return err
	}
	return os.WriteFile(s.configPath, data, 0o600)
}

func chartDir() string {
	dir, err := chartrender.ChartDir()
	if err != nil {
		panic(err) // the suite runs inside the repository
	}
	return dir
}
