package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Bounds on the work a replica takes on at once (SPEC 8). The chart gives a
// replica 256 MiB and no CPU limit; a review of a few KiB costs tens of
// microseconds and a few dozen KiB, so the bounds matter only for the rare
// large review, and for a burst.
//
// The API server talks HTTP/2 to the webhook, many reviews over one
// connection, and Go's HTTP/2 server gives a connection as much flow-control
// window as one stream (1 MiB): a large body left unread while its review
// waits would stall every other review on the connection. So a large review
// never waits before its body is read: its body is read at once if the
// budget of large bodies allows, and answered 429 at once if not; it waits
// (for a decode slot) only once it is read. Small reviews, whose unread
// bodies hold little of the window, wait for a slot before they are read.
const (
	// DefaultMaxInFlight bounds the reviews a replica handles at once, both
	// webhooks together, from reading the body to writing the answer. 32 is
	// far more than two cores need to stay busy with small reviews (each
	// takes well under a millisecond), and 32 small reviews hold about 2 MiB.
	DefaultMaxInFlight = 32
	// LargeReviewBytes is the body size from which a review is large: real
	// reviews are a few KiB, and the biggest real objects (a Secret with a
	// certificate bundle, an Ingress with dozens of hosts) stay below it.
	LargeReviewBytes = 128 << 10
	// DefaultLargeBodyBytes bounds the bodies of large reviews held at once,
	// read or being read: four reviews of MaxRequestBytes.
	DefaultLargeBodyBytes = 4 * MaxRequestBytes
	// DefaultMaxLargeInFlight bounds the large reviews decoded and checked
	// at once. One review of a few MiB takes ten times its size while it is
	// decoded (the review's copy of the object, the typed object) and a core
	// for a tenth of a second or more: with one at a time, a client sending
	// them takes at most one core and about 80 MiB, and the other clients'
	// small reviews keep the other core and their latency
	// (BenchmarkHostileLoad).
	DefaultMaxLargeInFlight = 1
	// largeCooldown is how many times as long as a large review held its
	// slot the slot stays taken after the answer: 4 keeps large reviews to
	// a fifth of a core (BenchmarkHostileLoad measured 2 as too much on two
	// cores: small reviews' p99 at 1.8-2.3 times the quiet one, 1.1-1.7
	// with 4), and legitimate large reviews (a few milliseconds each) wait
	// no longer than that.
	largeCooldown = 4
)

// Limiter bounds the reviews in flight, the bodies of the large ones, and the
// large ones decoded at once. One Limiter is shared by the webhooks of a
// replica (Server.Limiter).
type Limiter struct {
	slots, large chan struct{}
	// bodyBudget bounds bodyBytes, the bytes reserved by large bodies.
	bodyBudget int64
	bodyBytes  atomic.Int64
}

// NewLimiter returns a Limiter of maxInFlight reviews, of which large bodies
// hold at most largeBodyBytes (at least MaxRequestBytes) and maxLarge are
// decoded at once.
func NewLimiter(maxInFlight int, largeBodyBytes int64, maxLarge int) *Limiter {
	return &Limiter{slots: make(chan struct{}, maxInFlight), large: make(chan struct{}, maxLarge),
		bodyBudget: max(largeBodyBytes, MaxRequestBytes)}
}

// defaultLimiter is the Limiter of every Server without one of its own: the
// mutating and the validating webhook of `devgate serve` share it.
var defaultLimiter = NewLimiter(DefaultMaxInFlight, DefaultLargeBodyBytes, DefaultMaxLargeInFlight)

// InFlight is the number of reviews l is handling now.
func (l *Limiter) InFlight() int { return len(l.slots) }

// reserve takes n bytes of the large-body budget, if they are free: never
// waiting, so that a body is either read at once or not at all.
func (l *Limiter) reserve(n int64) bool {
	for {
		cur := l.bodyBytes.Load()
		if cur+n > l.bodyBudget {
			return false
		}
		if l.bodyBytes.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (l *Limiter) unreserve(n int64) { l.bodyBytes.Add(-n) }

// acquire takes a slot of ch, waiting for one until ctx ends.
func acquire(ctx context.Context, ch chan struct{}) bool {
	select {
	case ch <- struct{}{}:
		return true
	default:
	}
	select {
	case ch <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func release(ch chan struct{}) { <-ch }

// errLargeBodies is returned when the budget of large bodies has no room
// for the body.
var errLargeBodies = errors.New("the large request bodies in flight fill their budget")

// busy answers a review that found no room: HTTP 429 with Retry-After, which
// the API server reports as the webhook's failure, naming the bound.
func busy(w http.ResponseWriter, what string) {
	w.Header().Set("Retry-After", "1")
	httpError(w, http.StatusTooManyRequests, "devgate is busy: "+what+
		", the most one replica takes (SPEC 8; see docs/operations.md, \"Limits\"); retry")
}

// Deadlines of a review. The API server sends its timeout for the webhook
// call in the URL (?timeout=5s, the configurations' timeoutSeconds); devgate
// answers by then, with a denial if it must, rather than leave the API server
// waiting for a webhook it then counts as failed.
const (
	// DefaultReviewTimeout is the timeout of a request that names none: the
	// API server's default timeoutSeconds.
	DefaultReviewTimeout = 10 * time.Second
	// MaxReviewTimeout is the longest timeout the API server allows.
	MaxReviewTimeout = 30 * time.Second
	// maxAnswerMargin bounds the time kept back from the timeout to write
	// the answer and get it to the API server: a tenth of the timeout, at
	// most a second.
	maxAnswerMargin = time.Second
)

// reviewDeadline is when the review of r must be answered: the timeout the
// API server put in its URL (DefaultReviewTimeout if none or invalid, at most
// MaxReviewTimeout) after start, less a margin to get the answer back.
func reviewDeadline(r *http.Request, start time.Time) time.Time {
	timeout := DefaultReviewTimeout
	if v := queryValue(r.URL.RawQuery, "timeout"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = min(d, MaxReviewTimeout)
		}
	}
	return start.Add(timeout - min(timeout/10, maxAnswerMargin))
}

// tryAcquire takes a slot of ch if one is free.
func tryAcquire(ch chan struct{}) bool {
	select {
	case ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// queryValue is the first value of key in the raw query, as url.Values.Get
// would give it, without building the map of every value (one per review).
func queryValue(rawQuery, key string) string {
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err == nil {
				k = uk
			}
		}
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				return ""
			}
			v = uv
		}
		return v
	}
	return ""
}
