package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMetricsBindAddress disables /metrics: `devgate serve` holds :8080
// where both run on one host; the chart passes --metrics-bind-address=:9090.
const DefaultMetricsBindAddress = "0"

// Refusal reasons, the only values of devgate_auth_refusals_total's reason
// label: a fixed set, never anything the client sent.
const (
	refusalNoCredentials  = "no_credentials"  // 401 without any credential (or an empty sign-in form)
	refusalBadCredentials = "bad_credentials" // 401: a token, cookie or code refused
	refusalRateLimited    = "rate_limited"    // too many failures: 401 with Retry-After on /verify, 429 on sign-in
	refusalForbidden      = "forbidden"       // 403: no access to the namespace
	refusalCrossOrigin    = "cross_origin"    // 403: a sign-in POST from another origin
	refusalBadRequest     = "bad_request"     // 400 (no namespace, bad rd, unreadable form), 405
)

// Sign-in methods, the values of devgate_auth_signins_total's method label.
const (
	signinToken = "token"
	signinOIDC  = "oidc" // through any OIDC connector
)

// metrics are one Server's Prometheus metrics, in a registry of its own.
type metrics struct {
	// listener is where /metrics is served; nil when disabled.
	listener    net.Listener
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	refusals    *prometheus.CounterVec
	signins     *prometheus.CounterVec
	invitations prometheus.Counter
}

func newMetrics(limiter *FailureLimiter) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devgate_auth_requests_total",
			Help: "Requests to the auth service by route (the pattern, not the URL) and status code.",
		}, []string{"path", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "devgate_auth_request_duration_seconds",
			Help:    "Time to answer a request to the auth service, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"path"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devgate_auth_refusals_total",
			Help: "Refused requests by reason: no_credentials, bad_credentials, rate_limited, forbidden, cross_origin, bad_request.",
		}, []string{"reason"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devgate_auth_signins_total",
			Help: "Successful sign-ins by method: token (the sign-in form) or oidc (an OIDC connector).",
		}, []string{"method"}),
		invitations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "devgate_auth_invitations_accepted_total",
			Help: "Invitations accepted. Invitations do not exist yet: this stays 0.",
		}),
	}
	for _, r := range []string{refusalNoCredentials, refusalBadCredentials, refusalRateLimited, refusalForbidden, refusalCrossOrigin, refusalBadRequest} {
		m.refusals.WithLabelValues(r)
	}
	m.signins.WithLabelValues(signinToken)
	m.signins.WithLabelValues(signinOIDC)
	m.registry.MustRegister(m.requests, m.duration, m.refusals, m.signins, m.invitations,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "devgate_auth_rate_limited_clients",
			Help: "Clients (IPv4 addresses, IPv6 /64s) currently over the failure limit, whose credentials are not looked at. Per replica.",
		}, func() float64 { return float64(limiter.Limited()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// listenMetrics listens for /metrics at Options.MetricsBindAddress (or on
// Options.MetricsListener); "" and "0" disable it.
func (s *Server) listenMetrics() error {
	s.metrics.listener = s.opts.MetricsListener
	if s.metrics.listener != nil || s.opts.MetricsBindAddress == "" || s.opts.MetricsBindAddress == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.MetricsBindAddress)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	s.metrics.listener = ln
	return nil
}

// MetricsAddr is the address /metrics is served on, nil when disabled.
func (s *Server) MetricsAddr() net.Addr {
	if s.metrics == nil || s.metrics.listener == nil {
		return nil
	}
	return s.metrics.listener.Addr()
}

// serveMetrics serves /metrics until ctx ends.
func (s *Server) serveMetrics(ctx context.Context) error {
	ln := s.metrics.listener
	if ln == nil {
		return nil
	}
	srv := &http.Server{Handler: s.metrics.handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.opts.Logger.Info("serving metrics", "address", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	err := srv.Shutdown(shutdown)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// handler serves the registry at /metrics.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))
	return mux
}

// note is what a handler tells the instrumentation about its answer.
type note struct {
	refusal string
	signin  string
}

type noteKey struct{}

// refused records why r was refused, for devgate_auth_refusals_total.
func refused(r *http.Request, reason string) {
	if n, ok := r.Context().Value(noteKey{}).(*note); ok {
		n.refusal = reason
	}
}

// signedIn records a successful sign-in by method.
func signedIn(r *http.Request, method string) {
	if n, ok := r.Context().Value(noteKey{}).(*note); ok {
		n.signin = method
	}
}

// instrument counts and times every request mux serves. The path label is
// the pattern mux routes the request to ("other" for none), so that the
// label's values are the few routes, whatever URLs clients send.
func (m *metrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, path := mux.Handler(r)
		if path == "" {
			path = "other"
		}
		n := &note{}
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), noteKey{}, n)))
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		if n.refusal == "" {
			// Refusals no handler explained: only the unambiguous statuses.
			switch code {
			case http.StatusBadRequest, http.StatusMethodNotAllowed:
				n.refusal = refusalBadRequest
			case http.StatusForbidden:
				n.refusal = refusalForbidden
			case http.StatusTooManyRequests:
				n.refusal = refusalRateLimited
			}
		}
		if n.refusal != "" {
			m.refusals.WithLabelValues(n.refusal).Inc()
		}
		if n.signin != "" {
			m.signins.WithLabelValues(n.signin).Inc()
		}
		m.requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
		m.duration.WithLabelValues(path).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder keeps the status code of an answer.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && code >= 200 { // 1xx answers are not the answer
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
