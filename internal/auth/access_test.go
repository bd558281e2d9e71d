package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSubjectAccessReviewer(t *testing.T) {
	cs := fake.NewClientset()
	var got *authorizationv1.SubjectAccessReview
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		got = a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		res := got.DeepCopy()
		res.Status.Allowed = got.Spec.User == "alice"
		return true, res, nil
	})
	r := SubjectAccessReviewer{Client: cs.AuthorizationV1().SubjectAccessReviews()}
	id := Identity{User: "alice", Groups: []string{"system:authenticated"}}
	ok, err := r.CanAccess(context.Background(), id, "team-a")
	if err != nil || !ok {
		t.Fatalf("alice: %v, %v", ok, err)
	}
	ra := got.Spec.ResourceAttributes
	if got.Spec.User != "alice" || !slices.Equal(got.Spec.Groups, id.Groups) ||
		ra == nil || ra.Namespace != "team-a" || ra.Verb != "get" || ra.Resource != "services" || ra.Group != "" {
		t.Fatalf("review spec = %+v / %+v", got.Spec, ra)
	}
	if ok, err := r.CanAccess(context.Background(), Identity{User: "bob"}, "team-a"); err != nil || ok {
		t.Fatalf("bob: %v, %v", ok, err)
	}
}

func TestCachedReviewer(t *testing.T) {
	now := testNow
	next := standardReviewer()
	c := &CachedReviewer{Next: next, TTL: 10 * time.Second, MaxEntries: 100, Now: func() time.Time { return now }}
	alice := Identity{User: "alice@example.com", Groups: []string{"system:authenticated"}}
	ask := func(id Identity, ns string) bool {
		t.Helper()
		ok, err := c.CanAccess(context.Background(), id, ns)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !ask(alice, "team-a") || !ask(alice, "team-a") || next.calls != 1 {
		t.Fatalf("second answer not from the cache: %d reviews", next.calls)
	}
	if ask(alice, "team-b") || ask(alice, "team-b") || next.calls != 2 {
		t.Fatalf("denials are cached per namespace too: %d reviews", next.calls)
	}
	if ask(Identity{User: "mallory"}, "team-a") || next.calls != 3 {
		t.Fatalf("another user must be reviewed: %d reviews", next.calls)
	}
	// LRUExpireCache keeps an entry up to its expiry, included.
	now = now.Add(10*time.Second + time.Nanosecond)
	if !ask(alice, "team-a") || next.calls != 4 {
		t.Fatalf("expired answer reused: %d reviews", next.calls)
	}

	next.err = errBoom
	now = now.Add(time.Minute)
	if _, err := c.CanAccess(context.Background(), alice, "team-a"); err == nil {
		t.Fatal("error swallowed")
	}
	next.err = nil
	if !ask(alice, "team-a") || next.calls != 6 {
		t.Fatalf("an error must not be cached: %d reviews", next.calls)
	}
}

func TestCachedReviewerDisabledAndBounded(t *testing.T) {
	next := standardReviewer()
	off := &CachedReviewer{Next: next, TTL: 0, MaxEntries: 100, Now: func() time.Time { return testNow }}
	for range 2 {
		_, _ = off.CanAccess(context.Background(), Identity{User: "alice@example.com"}, "team-a")
	}
	if next.calls != 2 {
		t.Fatalf("TTL 0 must not cache: %d reviews", next.calls)
	}
	small := &CachedReviewer{Next: next, TTL: time.Minute, MaxEntries: 2, Now: func() time.Time { return testNow }}
	for _, u := range []string{"a", "b", "c", "d"} {
		_, _ = small.CanAccess(context.Background(), Identity{User: u}, "team-a")
	}
	if n := len(small.decisions.Keys()); n > 2 {
		t.Fatalf("cache grew to %d entries, bound is 2", n)
	}
}

type namespaceSet map[string]bool

func (n namespaceSet) NamespaceExists(_ context.Context, name string) (bool, error) {
	return n[name], nil
}

func TestCachedReviewerUnknownNamespace(t *testing.T) {
	next := standardReviewer()
	c := &CachedReviewer{Next: next, Namespaces: namespaceSet{"team-a": true}, TTL: time.Minute, MaxEntries: 100,
		Now: func() time.Time { return testNow }}
	alice := Identity{User: "alice@example.com"}
	if ok, err := c.CanAccess(context.Background(), alice, "nope"); ok || err != nil {
		t.Fatalf("unknown namespace: %v, %v", ok, err)
	}
	if next.calls != 0 {
		t.Fatalf("%d reviews for a namespace that does not exist", next.calls)
	}
	if ok, err := c.CanAccess(context.Background(), alice, "team-a"); !ok || err != nil || next.calls != 1 {
		t.Fatalf("existing namespace: %v, %v, %d reviews", ok, err, next.calls)
	}
}

func TestCachedReviewerRefusalLimit(t *testing.T) {
	now := testNow
	next := standardReviewer()
	c := &CachedReviewer{Next: next, Namespaces: namespaceSet{"team-a": true, "team-b": true}, TTL: time.Minute,
		MaxEntries: 100, RefusalLimit: 3, RefusalWindow: time.Minute, Now: func() time.Time { return now }}
	alice := Identity{User: "alice@example.com"}
	ctx := context.Background()
	if ok, _ := c.CanAccess(ctx, alice, "team-a"); !ok {
		t.Fatal("team-a refused")
	}
	for i := range 4 {
		if ok, err := c.CanAccess(ctx, alice, fmt.Sprintf("ny%d", i)); ok || err != nil {
			t.Fatalf("ny%d: %v %v", i, ok, err)
		}
	}
	calls := next.calls
	if _, err := c.CanAccess(ctx, alice, "team-b"); !errors.Is(err, errAccessThrottled) || next.calls != calls {
		t.Fatalf("after 4 refused namespaces a new decision: %v, %d reviews", err, next.calls-calls)
	}
	if ok, err := c.CanAccess(ctx, alice, "team-a"); !ok || err != nil {
		t.Fatalf("a remembered decision must still be answered: %v %v", ok, err)
	}
	if ok, err := c.CanAccess(ctx, Identity{User: "bob"}, "team-b"); ok || err != nil || next.calls != calls+1 {
		t.Fatalf("another user throttled: %v %v", ok, err)
	}
	now = now.Add(time.Minute)
	if _, err := c.CanAccess(ctx, alice, "team-b"); err != nil {
		t.Fatalf("throttled after the window: %v", err)
	}
}

// slowReviewer blocks every review until release is closed.
type slowReviewer struct {
	inFlight, peak, calls atomic.Int32
	release               chan struct{}
}

func (s *slowReviewer) CanAccess(ctx context.Context, id Identity, ns string) (bool, error) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-s.release:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func TestCachedReviewerBoundsAndSharesReviews(t *testing.T) {
	next := &slowReviewer{release: make(chan struct{})}
	c := &CachedReviewer{Next: next, TTL: time.Minute, MaxEntries: 1000, MaxConcurrent: 3, MaxPerUser: 2,
		Timeout: 5 * time.Second}
	ctx := context.Background()
	var wg sync.WaitGroup
	// Ten identical checks: one review.
	for range 10 {
		wg.Go(func() { _, _ = c.CanAccess(ctx, Identity{User: "carol"}, "same") })
	}
	// A flood of distinct checks by one user: at most 2 of the 3 slots.
	for i := range 20 {
		wg.Go(func() { _, _ = c.CanAccess(ctx, Identity{User: "mallory"}, fmt.Sprintf("ny%d", i)) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for next.inFlight.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if n := next.inFlight.Load(); n != 3 {
		t.Fatalf("%d reviews in flight, want 3 (carol's one and mallory's 2)", n)
	}
	close(next.release)
	wg.Wait()
	if p := next.peak.Load(); p > 3 {
		t.Fatalf("peak of %d concurrent reviews, bound is 3", p)
	}
	if n := next.calls.Load(); n != 21 {
		t.Fatalf("%d reviews, want 21 (10 identical checks share one)", n)
	}
}

// holdReviewer keeps the review of namespace "hold" until release is closed,
// whatever its deadline; it allows everything.
type holdReviewer struct {
	holding atomic.Bool
	calls   atomic.Int32
	release chan struct{}
}

func (h *holdReviewer) CanAccess(_ context.Context, _ Identity, ns string) (bool, error) {
	h.calls.Add(1)
	if ns == "hold" {
		h.holding.Store(true)
		<-h.release
	}
	return true, nil
}

func TestCachedReviewerDeadline(t *testing.T) {
	next := &holdReviewer{release: make(chan struct{})}
	c := &CachedReviewer{Next: next, TTL: time.Minute, MaxEntries: 10, MaxConcurrent: 1, MaxPerUser: 1,
		Timeout: 50 * time.Millisecond}
	held := make(chan error, 1)
	go func() {
		_, err := c.CanAccess(context.Background(), Identity{User: "u"}, "hold")
		held <- err
	}()
	for !next.holding.Load() {
		time.Sleep(time.Millisecond)
	}
	for _, user := range []string{"u", "v"} { // u's own slot, then the only slot of all
		start := time.Now()
		ok, err := c.CanAccess(context.Background(), Identity{User: user}, "other")
		if d := time.Since(start); ok || !errors.Is(err, errAccessBusy) || d < 50*time.Millisecond || d > time.Second {
			t.Fatalf("%s while the slots are taken: %v, %v after %v; want errAccessBusy after the 50ms deadline", user, ok, err, d)
		}
	}
	close(next.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	// Errors are not remembered: the next check is reviewed.
	calls := next.calls.Load()
	if ok, err := c.CanAccess(context.Background(), Identity{User: "u"}, "other"); !ok || err != nil || next.calls.Load() != calls+1 {
		t.Fatalf("after the slots are free: %v, %v, %d reviews", ok, err, next.calls.Load()-calls)
	}
}

type failingReviewer struct{ err error }

func (f failingReviewer) CanAccess(context.Context, Identity, string) (bool, error) {
	return false, f.err
}

func TestVerifyAnswersOfTheAccessLayer(t *testing.T) {
	for err, want := range map[error]int{errAccessThrottled: 403, errAccessBusy: 500, errBoom: 500} {
		f := newFixture(t)
		f.verify.(*verifyHandler).access = failingReviewer{err: err}
		w := serve(f.verify, verifyRequest("team-a", bearer(memberToken)))
		if w.Code != want || w.Header().Get(HeaderUser) != "" {
			t.Errorf("%v: status %d, user %q; want %d and no user", err, w.Code, w.Header().Get(HeaderUser), want)
		}
		if err == errAccessBusy {
			mustContain(t, w.Body.String(), "busy")
		}
	}
	// Through the access layer: a namespace that does not exist, no review.
	f := newFixture(t)
	f.verify.(*verifyHandler).access = &CachedReviewer{Next: f.reviewer, Namespaces: namespaceSet{"team-a": true},
		TTL: time.Minute, MaxEntries: 10, Now: func() time.Time { return f.now }}
	if w := serve(f.verify, verifyRequest("ny1", bearer(memberToken))); w.Code != 403 || f.reviewer.calls != 0 {
		t.Fatalf("unknown namespace: %d after %d reviews", w.Code, f.reviewer.calls)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 || f.reviewer.calls != 1 {
		t.Fatalf("team-a: %d after %d reviews", w.Code, f.reviewer.calls)
	}
}
