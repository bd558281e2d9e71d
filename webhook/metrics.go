package webhook

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	reviewsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "devgate_admission_reviews_total",
		Help: "Admission reviews handled, by webhook and outcome (allowed, mutated, denied, bad_request, busy, error).",
	}, []string{"webhook", "outcome"})
	reviewDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "devgate_admission_review_duration_seconds",
		Help:    "Time to answer an admission review, by webhook.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1},
	}, []string{"webhook"})
	inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "devgate_admission_reviews_in_flight",
		Help: "Admission reviews being handled now, by webhook; the webhooks of a replica share a bound of DefaultMaxInFlight (32), beyond which reviews wait and then get HTTP 429 (outcome busy).",
	}, []string{"webhook"})
	panicsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "devgate_admission_panics_total",
		Help: "Panics recovered while handling admission reviews, by webhook. Anything above zero is a bug.",
	}, []string{"webhook"})
)

func init() {
	metrics.Registry.MustRegister(reviewsTotal, reviewDuration, inFlight, panicsTotal)
}

// reviewsServed counts answered reviews for in-process readiness checks.
var reviewsServed atomic.Uint64

// ReviewsServed is the number of admission reviews this process has answered.
func ReviewsServed() uint64 { return reviewsServed.Load() }

type requestTimer struct {
	webhook string
	start   time.Time
	ended   bool
}

func newRequestTimer(webhook string) *requestTimer {
	return &requestTimer{webhook: webhook, start: time.Now()}
}

// done records the outcome once; later calls are ignored.
func (t *requestTimer) done(outcome string) {
	if t.ended {
		return
	}
	t.ended = true
	reviewsServed.Add(1)
	reviewsTotal.WithLabelValues(t.webhook, outcome).Inc()
	reviewDuration.WithLabelValues(t.webhook).Observe(time.Since(t.start).Seconds())
}
