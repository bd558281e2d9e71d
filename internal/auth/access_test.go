package auth

import (
	"context"
	"slices"
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
	now = now.Add(10 * time.Second)
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
	if len(small.entries) > 2 {
		t.Fatalf("cache grew to %d entries, bound is 2", len(small.entries))
	}
}
