// Package server assembles `devgate serve`: a controller-runtime manager with
// the two admission webhooks, the endpoint controller, the token index, the
// configuration reloader, probes and metrics. `devgate dev` runs the same
// server in-process against its local control plane.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/internal/controller"
	"devgate.dev/devgate/internal/gatewayapi"
	"devgate.dev/devgate/internal/hostindex"
	"devgate.dev/devgate/internal/tokenindex"
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/webhook"
)

// Options are the flags of `devgate serve` (SPEC 8).
type Options struct {
	ConfigPath  string
	RestConfig  *rest.Config
	CertDir     string
	WebhookHost string
	WebhookPort int
	// MetricsBindAddress and HealthProbeBindAddress take "0" to disable.
	MetricsBindAddress      string
	HealthProbeBindAddress  string
	LeaderElect             bool
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero keeps controller-runtime's defaults (15s, 10s, 2s).
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Namespace is devgate's own, never managed; empty when it runs outside
	// the cluster.
	Namespace string
	// SkipControllerNameValidation lets one process run several servers one
	// after the other (tests); the controller's name is otherwise unique.
	SkipControllerNameValidation bool
	// ConfigPollInterval is how often the configuration file is re-read.
	ConfigPollInterval time.Duration
	Logger             logr.Logger
}

// Server is a configured, not yet started devgate.
type Server struct {
	opts    Options
	mgr     manager.Manager
	config  *configsource.Source
	synced  atomic.Bool
	Started chan struct{} // closed once caches are synced and webhooks serve
}

// New builds the manager and registers everything on it.
func New(opts Options) (*Server, error) {
	if opts.ConfigPollInterval == 0 {
		opts.ConfigPollInterval = 2 * time.Second
	}
	var extra []string
	if opts.Namespace != "" {
		extra = append(extra, opts.Namespace)
	}
	src, err := configsource.Load(opts.ConfigPath, extra, opts.Logger.WithName("config"))
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := gatewayv1.Install(scheme); err != nil {
		return nil, err
	}
	// Gateway API is optional: its informers start only where the cluster
	// serves its CRDs, or they would never sync. A cluster that gets them
	// later needs a restart of devgate.
	gatewayAPI, err := servesGatewayAPI(opts.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("discovering Gateway API: %w", err)
	}
	webhookServer := crwebhook.NewServer(crwebhook.Options{
		Host:    opts.WebhookHost,
		Port:    opts.WebhookPort,
		CertDir: opts.CertDir,
		// TLS 1.2 at least; Go prefers 1.3 when the client offers it.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }},
	})
	mgr, err := ctrl.NewManager(opts.RestConfig, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  opts.Logger,
		WebhookServer:           webhookServer,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
		LeaderElection:          opts.LeaderElect,
		LeaderElectionID:        "devgate-controller",
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		// The lease is released on shutdown so a rolling update hands over at
		// once instead of after the lease duration.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 nonZero(opts.LeaseDuration),
		RenewDeadline:                 nonZero(opts.RenewDeadline),
		RetryPeriod:                   nonZero(opts.RetryPeriod),
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &opts.SkipControllerNameValidation},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			tokenindex.ServiceAccountMetadata(): tokenindex.CacheOptions(),
			hostindex.NamespaceMetadata():       hostindex.NamespaceCacheOptions(),
		}},
	})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mgr: mgr, config: src, Started: make(chan struct{})}

	tokens, err := tokenindex.Setup(context.Background(), mgr.GetCache())
	if err != nil {
		return nil, fmt.Errorf("token index: %w", err)
	}
	hostsInUse, err := hostindex.Setup(context.Background(), mgr.GetCache())
	if err != nil {
		return nil, fmt.Errorf("host index: %w", err)
	}
	if gatewayAPI {
		// HTTPRoutes' hostnames are hosts in use whatever endpoints.kind
		// says: a namespace must not be created over one.
		if err := hostsInUse.WatchHTTPRoutes(context.Background(), mgr.GetCache()); err != nil {
			return nil, fmt.Errorf("host index: %w", err)
		}
	}
	lookup := clusterLookup{Index: tokens, hosts: hostsInUse}
	eng := all.Engine()
	webhookServer.Register(webhook.MutatePath, &webhook.Server{Name: "mutate",
		Handler: &webhook.Handler{Engine: eng, Config: src, Lookup: lookup, Mutating: true}})
	webhookServer.Register(webhook.ValidatePath, &webhook.Server{Name: "validate",
		Handler: &webhook.Handler{Engine: eng, Config: src, Lookup: lookup}})

	rec := &controller.EndpointReconciler{Client: mgr.GetClient(), Config: src,
		Recorder: mgr.GetEventRecorder("devgate"), ConfigChanged: src.Changed, HTTPRoutes: gatewayAPI}
	if err := rec.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if gatewayAPI {
		grants := &controller.ReferenceGrantReconciler{Client: mgr.GetClient(), Config: src, ConfigChanged: src.Changed}
		if err := grants.SetupWithManager(mgr); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("webhook", webhookServer.StartedChecker()); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches", func(*http.Request) error {
		if !s.synced.Load() {
			return errors.New("informer caches are not synced yet")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("apiserver", apiServerCheck(opts.RestConfig)); err != nil {
		return nil, err
	}
	// Every replica serves the webhooks, so every replica follows the
	// configuration file and reports readiness, leader or not.
	if err := mgr.Add(everyReplica(func(ctx context.Context) error {
		// The endpoint controller follows a change through Source.Changed.
		s.config.Watch(ctx, s.opts.ConfigPollInterval)
		return nil
	})); err != nil {
		return nil, err
	}
	if err := mgr.Add(everyReplica(s.waitReady)); err != nil {
		return nil, err
	}
	return s, nil
}

// servesGatewayAPI reports whether the API server serves HTTPRoutes and
// ReferenceGrants of gateway.networking.k8s.io/v1.
func servesGatewayAPI(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	return gatewayapi.Serves(dc, "httproutes", "referencegrants")
}

// clusterLookup answers the policies' questions from the informer caches:
// tokens from the token index, namespaces and hosts in use from the host
// index.
type clusterLookup struct {
	*tokenindex.Index
	hosts *hostindex.Index
}

var _ policies.Lookup = clusterLookup{}

func (l clusterLookup) NamespaceExists(name string) bool { return l.hosts.NamespaceExists(name) }

func (l clusterLookup) HostsFitting(namespace string) []policies.HostUse {
	return l.hosts.HostsFitting(namespace)
}

// everyReplica is a runnable that runs whether or not this replica leads: a
// plain manager.RunnableFunc would only start on the leader.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }
func (everyReplica) NeedLeaderElection() bool          { return false }

func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// Start runs until ctx ends.
func (s *Server) Start(ctx context.Context) error { return s.mgr.Start(ctx) }

// waitReady marks the server ready once the caches have synced and the
// webhook server listens.
func (s *Server) waitReady(ctx context.Context) error {
	if !s.mgr.GetCache().WaitForCacheSync(ctx) {
		return nil
	}
	s.synced.Store(true)
	check := s.mgr.GetWebhookServer().StartedChecker()
	for check(nil) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	close(s.Started)
	<-ctx.Done()
	return nil
}

// PodNamespace is the namespace devgate runs in, from the downward API.
func PodNamespace() string { return os.Getenv("POD_NAMESPACE") }
