package auth

import (
	"context"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// CachedReviewer remembers answers for TTL, so a page that loads fifty
// assets costs one review, not fifty. Errors are not remembered.
type CachedReviewer struct {
	Next AccessReviewer
	TTL  time.Duration
	// MaxEntries bounds the memory a flood of distinct users can take.
	MaxEntries int
	Now        func() time.Time

	mu      sync.Mutex
	entries map[string]cachedAnswer
}

type cachedAnswer struct {
	allowed bool
	expires time.Time
}

// CanAccess implements AccessReviewer.
func (c *CachedReviewer) CanAccess(ctx context.Context, id Identity, namespace string) (bool, error) {
	if c.TTL <= 0 {
		return c.Next.CanAccess(ctx, id, namespace)
	}
	// NUL cannot appear in a username, group or namespace sent as headers
	// and query parameters, so the key is unambiguous.
	key := id.User + "\x00" + strings.Join(id.Groups, "\x00") + "\x00\x00" + namespace
	now := c.Now()
	c.mu.Lock()
	a, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(a.expires) {
		return a.allowed, nil
	}
	allowed, err := c.Next.CanAccess(ctx, id, namespace)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedAnswer{}
	}
	if len(c.entries) >= c.MaxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.MaxEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = cachedAnswer{allowed: allowed, expires: now.Add(c.TTL)}
	return allowed, nil
}
