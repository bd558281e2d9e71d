package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"

	"devgate.dev/devgate/internal/configsource"
)

// throttledSAR stands for the API server behind client-go: every review
// waits for client-go's client-side token bucket (the auth service's 50 QPS,
// burst 100, see New) and then takes latency. A user is allowed in the
// namespaces of allowed only.
type throttledSAR struct {
	bucket  flowcontrol.RateLimiter
	latency time.Duration
	allowed map[string]string // user -> namespace
	calls   atomic.Int64
}

func (s *throttledSAR) CanAccess(ctx context.Context, id Identity, ns string) (bool, error) {
	s.calls.Add(1)
	if err := s.bucket.Wait(ctx); err != nil {
		return false, err
	}
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	return s.allowed[id.User] == ns, nil
}

// legacyReviewer is the access cache before this change: a map, no
// namespace cache, no bound on concurrent reviews, no deadline.
type legacyReviewer struct {
	next    AccessReviewer
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedLegacy
}

type cachedLegacy struct {
	allowed bool
	expires time.Time
}

func (c *legacyReviewer) CanAccess(ctx context.Context, id Identity, ns string) (bool, error) {
	key := id.User + "\x00" + strings.Join(id.Groups, "\x00") + "\x00\x00" + ns
	now := time.Now()
	c.mu.Lock()
	a, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(a.expires) {
		return a.allowed, nil
	}
	allowed, err := c.next.CanAccess(ctx, id, ns)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.entries[key] = cachedLegacy{allowed: allowed, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return allowed, nil
}

const (
	floodSize     = 1500
	floodToken    = "fld-Qm4nWb8VcX2zLk7P"
	newUsers      = 5
	newUserWait   = 100 * time.Millisecond // between two new users' first requests
	measureFor    = 1500 * time.Millisecond
	answerTimeout = 3 * time.Second // a new decision slower than this counts as this
)

func newUserToken(i int) string { return fmt.Sprintf("new-%d-Rt5yUi8oPa3sDf", i) }

// BenchmarkAccessFlood: one token holder sends 1,500 concurrent /verify
// requests for namespaces ny0..ny1499 (the even ones exist), each a new
// decision. Meanwhile alice, whose decision for team-a is cached, asks
// again and again (cached-p99-ms), and five other users, every 100 ms, ask
// for a decision of their own never made before (new-max-ms). One iteration
// is one flood, on a fresh service: run with -benchtime=1x (or Nx).
func BenchmarkAccessFlood(b *testing.B) {
	variants := []struct {
		name   string
		access func(next AccessReviewer, ns NamespaceChecker) AccessReviewer
	}{
		{"before", func(next AccessReviewer, _ NamespaceChecker) AccessReviewer {
			return &legacyReviewer{next: next, ttl: 10 * time.Second, entries: map[string]cachedLegacy{}}
		}},
		// The namespace cache, the LRU, single-flight, bounded slots and the
		// deadline, but no limit on refusals: what the slots alone give.
		{"bounded", func(next AccessReviewer, ns NamespaceChecker) AccessReviewer {
			return &CachedReviewer{Next: next, Namespaces: ns, TTL: 10 * time.Second, MaxEntries: 100_000,
				RefusalLimit: -1, Now: time.Now}
		}},
		// As `devgate auth` runs (server.go's defaults).
		{"after", func(next AccessReviewer, ns NamespaceChecker) AccessReviewer {
			return &CachedReviewer{Next: next, Namespaces: ns, TTL: 10 * time.Second, MaxEntries: 100_000, Now: time.Now}
		}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var cached, fresh []time.Duration
			var reviews, busy, refused, timeouts int64
			for b.Loop() {
				r := runFlood(b, v.access)
				cached = append(cached, r.cached...)
				fresh = append(fresh, r.fresh...)
				reviews += r.reviews
				busy += r.busy
				refused += r.refused
				timeouts += r.timeouts
			}
			n := float64(b.N)
			b.ReportMetric(ms(percentile(cached, 0.99)), "cached-p99-ms")
			b.ReportMetric(ms(percentile(cached, 1)), "cached-max-ms")
			b.ReportMetric(ms(percentile(fresh, 0.5)), "new-p50-ms")
			b.ReportMetric(ms(percentile(fresh, 1)), "new-max-ms")
			b.ReportMetric(float64(timeouts)/n, "new-timeouts/op")
			b.ReportMetric(float64(reviews)/n, "reviews/op")
			b.ReportMetric(float64(refused)/n, "flood-403/op")
			b.ReportMetric(float64(busy)/n, "flood-500/op")
			b.ReportMetric(float64(len(cached))/n, "cached-answers/op")
		})
	}
}

type floodResult struct {
	cached, fresh                    []time.Duration
	reviews, busy, refused, timeouts int64
}

func runFlood(b *testing.B, access func(AccessReviewer, NamespaceChecker) AccessReviewer) floodResult {
	b.Helper()
	sar := &throttledSAR{bucket: flowcontrol.NewTokenBucketRateLimiter(50, 100), latency: 20 * time.Millisecond,
		allowed: map[string]string{"alice@example.com": "team-a"}}
	namespaces := namespaceSet{"team-a": true}
	for i := range floodSize {
		if i%2 == 0 {
			namespaces[fmt.Sprintf("ny%d", i)] = true
		}
	}
	secrets := []*corev1.Secret{
		tokenSecret("member", memberToken, "alice@example.com", nil),
		tokenSecret("flood", floodToken, "mallory", nil),
	}
	for i := range newUsers {
		user := fmt.Sprintf("user%d", i)
		ns := fmt.Sprintf("team-u%d", i)
		namespaces[ns] = true
		sar.allowed[user] = ns
		secrets = append(secrets, tokenSecret(user, newUserToken(i), user, nil))
	}
	clock := time.Now
	h := &verifyHandler{
		auth: &Authenticator{Resolver: &Resolver{Store: &fakeStore{secrets: secrets},
			Config: configsource.Static(testConfig()), Now: clock}, Sessions: Sessions{Secret: testSecret},
			Codes: &CodeLedger{MaxEntries: 100}},
		access:  access(sar, namespaces),
		limiter: &FailureLimiter{Burst: 10, Refill: 6 * time.Second, MaxClients: 100_000, Now: clock},
		now:     clock, log: logr.Discard(),
	}
	// tokenSecret dates its Secrets from testNow: a fixed clock keeps them valid.
	h.auth.Resolver.Now = func() time.Time { return testNow }
	ask := func(ctx context.Context, token, ns string) int {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/auth/verify?namespace="+ns, nil)
		r.Header.Set("X-Real-IP", "192.0.2.10")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := ask(context.Background(), memberToken, "team-a"); code != http.StatusOK {
		b.Fatalf("alice before the flood: %d", code)
	}
	sar.calls.Store(0)

	var res floodResult
	flood, stopFlood := context.WithCancel(context.Background())
	var floodWG sync.WaitGroup
	start := make(chan struct{})
	var busy, refused atomic.Int64
	for i := range floodSize {
		floodWG.Go(func() {
			<-start
			switch ask(flood, floodToken, fmt.Sprintf("ny%d", i)) {
			case http.StatusForbidden:
				refused.Add(1)
			case http.StatusInternalServerError:
				busy.Add(1)
			}
		})
	}
	close(start)
	var mu sync.Mutex
	var wg sync.WaitGroup
	end := time.Now().Add(measureFor)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				code := ask(context.Background(), memberToken, "team-a")
				d := time.Since(t0)
				if code != http.StatusOK {
					b.Errorf("alice's cached decision answered %d during the flood", code)
					return
				}
				mu.Lock()
				res.cached = append(res.cached, d)
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		})
	}
	for i := range newUsers {
		wg.Go(func() {
			time.Sleep(time.Duration(i+1) * newUserWait)
			ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
			defer cancel()
			t0 := time.Now()
			code := ask(ctx, newUserToken(i), fmt.Sprintf("team-u%d", i))
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if code != http.StatusOK {
				res.timeouts++
				d = max(d, answerTimeout)
			}
			res.fresh = append(res.fresh, d)
		})
	}
	wg.Wait()
	stopFlood()
	floodWG.Wait()
	res.reviews, res.busy, res.refused = sar.calls.Load(), busy.Load(), refused.Load()
	return res
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
