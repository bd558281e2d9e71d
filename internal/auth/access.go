package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// AccessReviewer decides whether an identity may use a namespace's endpoints.
type AccessReviewer interface {
	CanAccess(ctx context.Context, id Identity, namespace string) (bool, error)
}

// SubjectAccessReviewer asks the API server: may the user `get services` in
// the namespace? Anyone who may see a namespace's Services may reach them.
type SubjectAccessReviewer struct {
	Client authorizationclient.SubjectAccessReviewInterface
}

// CanAccess implements AccessReviewer.
func (r SubjectAccessReviewer) CanAccess(ctx context.Context, id Identity, namespace string) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   id.User,
		Groups: id.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: "get", Resource: "services",
		},
	}}
	res, err := r.Client.Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed && !res.Status.Denied, nil
}

// CachedReviewer is the access layer in front of the SubjectAccessReviews. It
// answers from the namespace cache and from remembered decisions first, so
// that a flood of new decisions never delays an answer already known, and it
// bounds what new decisions may cost:
//
//   - a namespace absent from the namespace cache is refused at once;
//   - decisions, refusals as well as grants, are remembered for TTL in an
//     LRU of at most MaxEntries; errors are not remembered;
//   - concurrent identical checks (user, groups, namespace) share one review;
//   - at most MaxConcurrent reviews run at once, and one user holds at most
//     MaxPerUser of them, so one token holder's flood queues against itself;
//   - every review, waiting for its slot included, has Timeout: a check that
//     cannot get a slot in time fails with errAccessBusy (an error, never an
//     opening);
//   - a user refused in more than RefusalLimit distinct namespaces within
//     RefusalWindow gets no new decision until the window ends
//     (errAccessThrottled); decisions already remembered still count.
type CachedReviewer struct {
	Next AccessReviewer
	// Namespaces tells whether a namespace exists; nil: every one does.
	Namespaces NamespaceChecker
	TTL        time.Duration
	// MaxEntries bounds the memory a flood of distinct users can take.
	MaxEntries int
	Now        func() time.Time
	// Timeout bounds one review, waiting included; 0: DefaultReviewTimeout.
	Timeout time.Duration
	// MaxConcurrent and MaxPerUser bound the reviews in flight; 0: defaults.
	MaxConcurrent, MaxPerUser int
	// RefusalLimit (0: default, negative: no limit) and RefusalWindow.
	RefusalLimit  int
	RefusalWindow time.Duration

	once      sync.Once
	decisions *cache.LRUExpireCache
	refusals  *cache.LRUExpireCache // user -> *refusalCount
	slots     chan struct{}

	// flights shares one review among identical concurrent checks.
	flights singleflight.Group

	mu      sync.Mutex
	perUser map[string]chan struct{}
	holders map[string]int // users -> checks holding or waiting for perUser
}

// NamespaceChecker reports whether a namespace exists (from a cache).
type NamespaceChecker interface {
	NamespaceExists(ctx context.Context, name string) (bool, error)
}

// Defaults of the access layer.
const (
	DefaultReviewTimeout  = 2 * time.Second
	defaultMaxConcurrent  = 16
	defaultMaxPerUser     = 4
	defaultRefusalLimit   = 30
	defaultRefusalWindow  = time.Minute
	defaultAccessMaxUsers = 100_000
)

var (
	// errAccessBusy: no review slot was free within the deadline.
	errAccessBusy = errors.New("the access check is busy")
	// errAccessThrottled: too many refused namespaces for this user lately.
	errAccessThrottled = errors.New("too many refused namespaces: no new access decision for now")
)

type refusalCount struct {
	until      time.Time
	namespaces map[string]struct{}
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

func (c *CachedReviewer) init() {
	c.once.Do(func() {
		if c.Now == nil {
			c.Now = time.Now
		}
		if c.Timeout <= 0 {
			c.Timeout = DefaultReviewTimeout
		}
		if c.MaxConcurrent <= 0 {
			c.MaxConcurrent = defaultMaxConcurrent
		}
		if c.MaxPerUser <= 0 {
			c.MaxPerUser = defaultMaxPerUser
		}
		if c.RefusalLimit == 0 {
			c.RefusalLimit = defaultRefusalLimit
		}
		if c.RefusalWindow <= 0 {
			c.RefusalWindow = defaultRefusalWindow
		}
		clock := clockFunc(func() time.Time { return c.Now() })
		c.decisions = cache.NewLRUExpireCacheWithClock(max(1, c.MaxEntries), clock)
		c.refusals = cache.NewLRUExpireCacheWithClock(defaultAccessMaxUsers, clock)
		c.slots = make(chan struct{}, c.MaxConcurrent)
		c.perUser = map[string]chan struct{}{}
		c.holders = map[string]int{}
	})
}

// CanAccess implements AccessReviewer.
func (c *CachedReviewer) CanAccess(ctx context.Context, id Identity, namespace string) (bool, error) {
	c.init()
	if c.Namespaces != nil {
		exists, err := c.Namespaces.NamespaceExists(ctx, namespace)
		if err != nil {
			return false, err
		}
		if !exists {
			c.refused(id.User, namespace)
			return false, nil
		}
	}
	// NUL cannot appear in a username, group or namespace sent as headers
	// and query parameters, so the key is unambiguous.
	key := id.User + "\x00" + strings.Join(id.Groups, "\x00") + "\x00\x00" + namespace
	if c.TTL > 0 {
		if v, ok := c.decisions.Get(key); ok {
			return v.(bool), nil
		}
	}
	if c.throttled(id.User) {
		return false, errAccessThrottled
	}
	// The review runs detached from this request (DoChan starts it in its
	// own goroutine, without this request's cancellation): others may wait
	// for the same answer.
	detached := context.WithoutCancel(ctx)
	answer := c.flights.DoChan(key, func() (any, error) { return c.review(detached, key, id, namespace) })
	select {
	case r := <-answer:
		return r.Val.(bool), r.Err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// review makes one SubjectAccessReview for the checks under key, and
// caches its decision.
func (c *CachedReviewer) review(ctx context.Context, key string, id Identity, namespace string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	allowed, err := c.reviewInSlot(ctx, id, namespace)
	if err == nil {
		if c.TTL > 0 {
			c.decisions.Add(key, allowed, c.TTL)
		}
		if !allowed {
			c.refused(id.User, namespace)
		}
	}
	return allowed, err
}

// reviewInSlot waits for one of the user's slots, then one of all, then
// reviews; waiting counts against ctx's deadline.
func (c *CachedReviewer) reviewInSlot(ctx context.Context, id Identity, namespace string) (bool, error) {
	c.mu.Lock()
	mine, ok := c.perUser[id.User]
	if !ok {
		mine = make(chan struct{}, c.MaxPerUser)
		c.perUser[id.User] = mine
	}
	c.holders[id.User]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.holders[id.User]--; c.holders[id.User] == 0 {
			delete(c.holders, id.User)
			delete(c.perUser, id.User)
		}
		c.mu.Unlock()
	}()
	select {
	case mine <- struct{}{}:
		defer func() { <-mine }()
	case <-ctx.Done():
		return false, errAccessBusy
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return false, errAccessBusy
	}
	return c.Next.CanAccess(ctx, id, namespace)
}

// refused counts a refusal of user in namespace (distinct namespaces only).
func (c *CachedReviewer) refused(user, namespace string) {
	if c.RefusalLimit < 0 {
		return
	}
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var r *refusalCount
	if v, ok := c.refusals.Get(user); ok {
		r = v.(*refusalCount)
	}
	if r == nil || !now.Before(r.until) {
		r = &refusalCount{until: now.Add(c.RefusalWindow), namespaces: map[string]struct{}{}}
		c.refusals.Add(user, r, c.RefusalWindow)
	}
	// One beyond the limit is all it takes to know the limit is passed.
	if len(r.namespaces) <= c.RefusalLimit {
		r.namespaces[namespace] = struct{}{}
	}
}

// throttled reports whether user was refused in more than RefusalLimit
// distinct namespaces within the current window.
func (c *CachedReviewer) throttled(user string) bool {
	if c.RefusalLimit < 0 {
		return false
	}
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.refusals.Get(user)
	if !ok {
		return false
	}
	r := v.(*refusalCount)
	return now.Before(r.until) && len(r.namespaces) > c.RefusalLimit
}
