package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"devgate.dev/devgate/internal/configsource"
)

// Options are the flags of `devgate auth`.
type Options struct {
	ConfigPath string
	RestConfig *rest.Config
	// BindAddress is where to listen, unless Listener is set.
	BindAddress string
	Listener    net.Listener
	// MetricsBindAddress is where /metrics listens, unless MetricsListener
	// is set; "" or "0" disables it.
	MetricsBindAddress string
	MetricsListener    net.Listener
	// CookieSecret signs session cookies: at least MinSecretLength bytes.
	CookieSecret []byte
	// AccessCacheTTL is how long an access decision is reused; 0 disables.
	AccessCacheTTL time.Duration
	// SessionMaxAge bounds a session cookie's life.
	SessionMaxAge time.Duration
	// FailureBurst and FailureRefill tune the per-client failure limit.
	FailureBurst  int
	FailureRefill time.Duration
	// ConfigPollInterval is how often the configuration file is re-read.
	ConfigPollInterval time.Duration
	// Namespace is devgate's own namespace: the users namespace unless
	// auth.usersNamespace names another (read at start).
	Namespace string
	// PublicURL is the base of links when the configuration sets no
	// auth.publicURL (`devgate dev` points it at its loopback address);
	// empty: https://<domain>/auth.
	PublicURL string
	Logger    logr.Logger
}

// Defaults of the options left zero.
const (
	DefaultBindAddress    = ":8082"
	DefaultAccessCacheTTL = 10 * time.Second
	DefaultSessionMaxAge  = 8 * time.Hour
	DefaultNamespace      = "devgate"
	defaultFailureBurst   = 10
	defaultFailureRefill  = 6 * time.Second
)

// Server is a configured `devgate auth`, listening but not yet serving.
type Server struct {
	opts     Options
	cache    cache.Cache
	config   *configsource.Source
	listener net.Listener
	http     *http.Server
	synced   atomic.Bool
	metrics  *metrics
	// users is the users namespace; invites and their cache serve the
	// invitations (nil in unit tests of other routes).
	users    string
	client   kubernetes.Interface
	invites  *acceptor
	invCache cache.Cache
	// endpoints feed the dashboard (nil in unit tests of other routes).
	endpoints *endpointCache
	// connectors are the OIDC connectors of devgate's namespace, kept up
	// to date by connCache (nil in unit tests of other routes).
	connectors *Connectors
	connCache  cache.Cache
}

// New checks the options, reads the configuration, prepares the informer
// caches and listens.
func New(opts Options) (*Server, error) {
	if len(opts.CookieSecret) < MinSecretLength {
		return nil, fmt.Errorf("the cookie secret must be at least %d bytes, it is %d", MinSecretLength, len(opts.CookieSecret))
	}
	if opts.BindAddress == "" {
		opts.BindAddress = DefaultBindAddress
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = DefaultSessionMaxAge
	}
	if opts.FailureBurst <= 0 {
		opts.FailureBurst = defaultFailureBurst
	}
	if opts.FailureRefill <= 0 {
		opts.FailureRefill = defaultFailureRefill
	}
	if opts.ConfigPollInterval <= 0 {
		opts.ConfigPollInterval = 2 * time.Second
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	src, err := configsource.Load(opts.ConfigPath, nil, opts.Logger.WithName("config"))
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := cache.New(opts.RestConfig, cache.Options{Scheme: scheme, ByObject: cacheOptions()})
	if err != nil {
		return nil, fmt.Errorf("informer cache: %w", err)
	}
	store, err := setupCache(context.Background(), c)
	if err != nil {
		return nil, fmt.Errorf("informer cache: %w", err)
	}
	// One SubjectAccessReview per user and namespace every AccessCacheTTL:
	// client-go's default of 5 per second would queue a busy ingress.
	reviews := rest.CopyConfig(opts.RestConfig)
	reviews.QPS, reviews.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(reviews)
	if err != nil {
		return nil, err
	}
	users := src.Current().Auth.UsersNamespaceOr(opts.Namespace)
	invCache, index, err := newInvitationCache(opts.RestConfig, scheme, users)
	if err != nil {
		return nil, fmt.Errorf("invitation cache: %w", err)
	}
	connectors := NewConnectors(opts.Logger.WithName("connectors"))
	connCache, err := newConnectorCache(opts.RestConfig, scheme, opts.Namespace, connectors)
	if err != nil {
		return nil, fmt.Errorf("connector cache: %w", err)
	}
	s := &Server{opts: opts, cache: c, config: src, users: users, client: cs, invCache: invCache,
		connectors: connectors, connCache: connCache}
	s.invites = &acceptor{client: cs, namespace: users, index: index, tokens: store, now: time.Now,
		log: opts.Logger.WithName("invite")}
	if s.endpoints, err = newEndpointCache(opts.RestConfig, scheme, cs); err != nil {
		return nil, fmt.Errorf("endpoint cache: %w", err)
	}
	s.http = &http.Server{
		Handler:           s.routes(store, SubjectAccessReviewer{Client: cs.AuthorizationV1().SubjectAccessReviews()}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.listener = opts.Listener
	if s.listener == nil {
		if s.listener, err = net.Listen("tcp", opts.BindAddress); err != nil {
			return nil, err
		}
	}
	if err := s.listenMetrics(); err != nil {
		_ = s.listener.Close()
		return nil, err
	}
	return s, nil
}

// routes builds the handler: the auth endpoints under /auth/ (the paths of
// the default authURL and signinURL) and at the root, and the probes.
func (s *Server) routes(store Store, reviewer AccessReviewer) http.Handler {
	now := time.Now
	log := s.opts.Logger
	resolver := &Resolver{Store: store, Config: s.config, Now: now}
	sessions := Sessions{Secret: s.opts.CookieSecret}
	limiter := &FailureLimiter{Burst: s.opts.FailureBurst, Refill: s.opts.FailureRefill, MaxClients: 100_000, Now: now}
	s.metrics = newMetrics(limiter)
	verify := &verifyHandler{
		auth:    &Authenticator{Resolver: resolver, Sessions: sessions, Codes: &CodeLedger{MaxEntries: 100_000}},
		access:  &CachedReviewer{Next: reviewer, Namespaces: namespacesOf(store), TTL: s.opts.AccessCacheTTL, MaxEntries: 100_000, Now: now},
		limiter: limiter, now: now, log: log.WithName("verify"),
	}
	signin := &signinHandler{resolver: resolver, sessions: sessions, config: s.config, limiter: limiter,
		connectors: s.connectors, maxAge: s.opts.SessionMaxAge, publicURL: s.publicURL, now: now, log: log.WithName("signin")}
	verify.auth.Connectors = s.connectors
	if s.connectors != nil {
		s.connectors.register(s.metrics.registry)
	}
	oidcFlow := &oidcHandler{signin: signin, connectors: s.connectors,
		client: &http.Client{Timeout: providerTimeout}, log: log.WithName("oidc")}
	sessionPages := &sessionHandler{signin: signin}
	gatewayVerify := &gatewayVerifyHandler{verify: verify,
		signinURL: func() string { return s.config.Current().PrivateEndpoints.SigninURL }}
	mux := http.NewServeMux()
	var invite *inviteHandler
	if s.invites != nil {
		s.invites.onDone = s.metrics.invitations.Inc
		invite = &inviteHandler{accept: s.invites, secret: s.opts.CookieSecret, config: s.config,
			publicURL: s.publicURL, users: s.users, limiter: limiter, log: log.WithName("invite")}
	}
	var invitations *invitationsHandler
	if s.invites != nil {
		invitations = &invitationsHandler{resolver: resolver, sessions: sessions, config: s.config, publicURL: s.publicURL,
			admins:  AdminReviewer{Client: s.client.AuthorizationV1().SubjectAccessReviews(), Namespace: s.users},
			store:   Invitations{Client: s.client, Namespace: s.users},
			limiter: limiter, now: now, log: log.WithName("invitations")}
	}
	for _, prefix := range []string{"/auth", ""} {
		mux.Handle(prefix+"/verify", verify)
		mux.Handle(prefix+"/verify/{namespace}", gatewayVerify)
		mux.Handle(prefix+"/verify/{namespace}/{rest...}", gatewayVerify)
		mux.Handle(prefix+"/signin", signin)
		mux.HandleFunc(prefix+"/oidc/{connector}/start", oidcFlow.start)
		mux.HandleFunc(prefix+"/callback", oidcFlow.callback)
		mux.HandleFunc(prefix+"/whoami", sessionPages.whoami)
		mux.HandleFunc(prefix+"/signout", sessionPages.signout)
		if invite != nil {
			mux.Handle(prefix+"/invite/{code}", invite)
			mux.Handle(prefix+"/invitations", invitations)
		}
	}
	s.addDashboard(mux, []string{"/auth", ""}, store, reviewer, verify.auth, limiter)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.synced.Load() {
			http.Error(w, "informer caches are not synced yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	return withClient(s.metrics.instrument(mux), &trustedProxies{config: s.config})
}

// publicURL is the base of links: auth.publicURL, else Options.PublicURL,
// else https://<domain>/auth.
func (s *Server) publicURL() string {
	cfg := s.config.Current()
	if cfg.Auth.PublicURL == "" && s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	return cfg.AuthPublicURL()
}

// UsersNamespace is the namespace of users and invitations.
func (s *Server) UsersNamespace() string { return s.users }

// namespacesOf is the store's namespace cache, when it has one.
func namespacesOf(store Store) NamespaceChecker {
	if n, ok := store.(NamespaceChecker); ok {
		return n
	}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Start serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, then the caches and the configuration watch stop.
func (s *Server) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	wg.Go(func() {
		if err := s.cache.Start(ctx); err != nil {
			errc <- fmt.Errorf("informer cache: %w", err)
		}
	})
	if s.invCache != nil {
		wg.Go(func() {
			if err := s.invCache.Start(ctx); err != nil {
				errc <- fmt.Errorf("invitation cache: %w", err)
			}
		})
	}
	if s.connCache != nil {
		wg.Go(func() {
			if err := s.connCache.Start(ctx); err != nil {
				errc <- fmt.Errorf("connector cache: %w", err)
			}
		})
	}
	wg.Go(func() {
		if !s.cache.WaitForCacheSync(ctx) || (s.invCache != nil && !s.invCache.WaitForCacheSync(ctx)) ||
			(s.connCache != nil && !s.connCache.WaitForCacheSync(ctx)) {
			return
		}
		if s.client != nil {
			// Not fatal: /verify serves without it; the next start tries again.
			if _, err := EnsureAdmin(ctx, s.client, s.users, s.opts.Logger.WithName("users")); err != nil {
				s.opts.Logger.Error(err, "the admin user could not be ensured", "namespace", s.users)
			}
		}
		s.synced.Store(true)
		s.opts.Logger.Info("caches synced: ready")
	})
	wg.Go(func() { s.config.Watch(ctx, s.opts.ConfigPollInterval) })
	if s.endpoints != nil {
		wg.Go(func() {
			if err := s.endpoints.run(ctx, s.opts.Logger.WithName("endpoints")); err != nil {
				s.opts.Logger.Error(err, "the endpoint list stopped")
			}
		})
	}
	wg.Go(func() {
		if err := s.serveMetrics(ctx); err != nil {
			errc <- err
		}
	})
	wg.Go(func() {
		s.opts.Logger.Info("serving", "address", s.listener.Addr().String())
		if err := s.http.Serve(s.listener); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	})
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err = errors.Join(err, s.http.Shutdown(shutdown))
	cancel()
	wg.Wait()
	return err
}
