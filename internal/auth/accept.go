package auth

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/internal/tokenindex"
	"devgate.dev/devgate/policies/tokens"
)

// inviteError is an answer about an invitation: its status and the message
// shown. The messages of 404 and 410 never say whether the user exists.
type inviteError struct {
	status int
	msg    string
}

func (e *inviteError) Error() string { return e.msg }

var (
	errInviteUnknown = &inviteError{http.StatusNotFound, "This invitation link is not valid."}
	errInviteUsed    = &inviteError{http.StatusGone, "This invitation link has already been used."}
	errInviteExpired = &inviteError{http.StatusGone, "This invitation link has expired: ask for a new one."}
)

// inviteFailure: the acceptance failed and the invitation is kept; opening
// the link again retries (and finishes what was done).
func inviteFailure(status int, format string, args ...any) *inviteError {
	return &inviteError{status, fmt.Sprintf(format, args...) +
		" The invitation is kept: once this is fixed, open the link again."}
}

// Welcome is the result of an accepted invitation.
type Welcome struct {
	User       string   `json:"user"`
	Token      string   `json:"token"`
	Namespaces []string `json:"namespaces"`
}

// InvitationIndex finds invitations and used codes by the code's digest in
// informer caches that never hold a code.
type InvitationIndex interface {
	// InvitationNames are the names of invitation Secrets with this digest.
	InvitationNames(ctx context.Context, digest string) ([]string, error)
	// CodeUsed reports whether a user was created from this digest.
	CodeUsed(ctx context.Context, digest string) (bool, error)
}

// acceptor checks and accepts invitations against the API server.
type acceptor struct {
	client    kubernetes.Interface
	namespace string // the users namespace
	index     InvitationIndex
	// tokens is the resolver's store: a welcome waits until it knows the
	// new token, so signing in works at once.
	tokens Store
	now    func() time.Time
	log    logr.Logger
	onDone func()

	mu sync.Mutex
	// used are the digests this replica accepted, for the moment between
	// the invitation's deletion and the cache seeing the new user.
	used map[string]time.Time
}

// lookup returns the live invitation Secret of code.
func (a *acceptor) lookup(ctx context.Context, code string) (*corev1.Secret, error) {
	if !wellFormedCode(code) {
		return nil, errInviteUnknown
	}
	digest := codeDigest(code)
	names, err := a.index.InvitationNames(ctx, digest)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if a.usedHere(digest) {
			return nil, errInviteUsed
		}
		used, err := a.index.CodeUsed(ctx, digest)
		if err != nil {
			return nil, err
		}
		if used {
			return nil, errInviteUsed
		}
		return nil, errInviteUnknown
	}
	for _, name := range names {
		sec, err := a.client.CoreV1().Secrets(a.namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// In the cache a moment ago: accepted (or revoked) since.
			return nil, errInviteUsed
		}
		if err != nil {
			return nil, err
		}
		if sec.Type != TypeInvitation || !sameCode(string(sec.Data[KeyCode]), code) {
			continue
		}
		if !a.now().Before(invitationOf(sec).Expires) {
			return nil, errInviteExpired
		}
		return sec, nil
	}
	return nil, errInviteUnknown
}

func (a *acceptor) usedHere(digest string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.used[digest]
	return ok
}

func (a *acceptor) markUsed(digest string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used == nil {
		a.used = map[string]time.Time{}
	}
	now := a.now()
	for d, t := range a.used {
		if now.Sub(t) > 10*time.Minute {
			delete(a.used, d)
		}
	}
	a.used[digest] = now
}

// claimed reports whether an acceptance holds the invitation now.
func (a *acceptor) claimed(sec *corev1.Secret) bool {
	v, ok := sec.Annotations[annotationClaimed]
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return err != nil || a.now().Sub(t) < claimTimeout
}

// Preview is what GET shows: whom the invitation is for.
func (a *acceptor) Preview(ctx context.Context, code string) (Invitation, error) {
	sec, err := a.lookup(ctx, code)
	if err != nil {
		return Invitation{}, err
	}
	if a.claimed(sec) {
		return Invitation{}, errInviteUsed
	}
	inv := invitationOf(sec)
	inv.Code = ""
	return inv, nil
}

// Accept accepts the invitation of code. The claim is an update of the
// invitation with the resourceVersion just read: of concurrent acceptances,
// exactly one gets it, every other is "already used". The winner creates the
// user (or finds the one a half-done attempt created, marked with the code's
// digest), the RoleBindings, and then deletes the invitation with the
// claim's UID and resourceVersion as preconditions. A failure releases the
// claim and records why, so the next attempt resumes.
func (a *acceptor) Accept(ctx context.Context, code string) (Welcome, error) {
	sec, err := a.lookup(ctx, code)
	if err != nil {
		return Welcome{}, err
	}
	if a.claimed(sec) {
		return Welcome{}, errInviteUsed
	}
	claim := sec.DeepCopy()
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations[annotationClaimed] = a.now().UTC().Format(time.RFC3339Nano)
	delete(claim.Annotations, annotationLastError)
	claim, err = a.client.CoreV1().Secrets(a.namespace).Update(ctx, claim, metav1.UpdateOptions{})
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return Welcome{}, errInviteUsed
	case err != nil:
		return Welcome{}, fmt.Errorf("claiming the invitation: %w", err)
	}
	inv := invitationOf(claim)
	digest := codeDigest(code)
	w, ferr := a.finish(ctx, inv, digest)
	if ferr != nil {
		a.release(claim, ferr)
		return Welcome{}, ferr
	}
	uid, rv := claim.UID, claim.ResourceVersion
	err = a.client.CoreV1().Secrets(a.namespace).Delete(ctx, claim.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		// The user has everything; the claim expires and the next attempt
		// finds the user done and deletes the invitation.
		a.log.Error(err, "deleting an accepted invitation", "user", inv.User)
	}
	a.markUsed(digest)
	a.waitForToken(ctx, w.Token)
	if a.onDone != nil {
		a.onDone()
	}
	a.log.Info("invitation accepted", "user", inv.User, "namespaces", inv.Namespaces, "invitedBy", inv.InvitedBy)
	return w, nil
}

// finish creates what the invitation grants, or finds it done.
func (a *acceptor) finish(ctx context.Context, inv Invitation, digest string) (Welcome, error) {
	token, err := a.ensureUser(ctx, inv, digest)
	if err != nil {
		return Welcome{}, err
	}
	for _, ns := range inv.Namespaces {
		if err := a.ensureRoleBinding(ctx, inv.User, ns); err != nil {
			return Welcome{}, err
		}
	}
	ns := inv.Namespaces
	if ns == nil {
		ns = []string{}
	}
	return Welcome{User: inv.User, Token: token, Namespaces: ns}, nil
}

func (a *acceptor) ensureUser(ctx context.Context, inv Invitation, digest string) (string, error) {
	sas := a.client.CoreV1().ServiceAccounts(a.namespace)
	for range 2 {
		sa, err := sas.Get(ctx, inv.User, metav1.GetOptions{})
		if err == nil {
			token := sa.Labels[tokens.LabelToken]
			if sa.Annotations[AnnotationInvitation] != digest || token == "" {
				return "", inviteFailure(http.StatusConflict, "The user %s exists already: ask the admin who invited you for a new invitation.", inv.User)
			}
			return token, nil // created by a half-done attempt
		}
		if !apierrors.IsNotFound(err) {
			return "", a.apiFailure(err, "reading the user's ServiceAccount")
		}
		token, err := GenerateToken()
		if err != nil {
			return "", err
		}
		_, err = sas.Create(ctx, userServiceAccount(a.namespace, inv.User, token, map[string]string{
			AnnotationInvitation: digest, AnnotationInvitedBy: inv.InvitedBy,
		}), metav1.CreateOptions{})
		if err == nil {
			return token, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", a.apiFailure(err, "creating the user's ServiceAccount")
		}
	}
	return "", inviteFailure(http.StatusConflict, "The user %s exists already.", inv.User)
}

func (a *acceptor) ensureRoleBinding(ctx context.Context, user, namespace string) error {
	want := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: MemberRoleBindingPrefix + user, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "devgate"}},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: user, Namespace: a.namespace}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: MemberClusterRole},
	}
	rbs := a.client.RbacV1().RoleBindings(namespace)
	_, err := rbs.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		if apierrors.IsNotFound(err) {
			return inviteFailure(http.StatusConflict, "The namespace %s does not exist.", namespace)
		}
		return a.apiFailure(err, fmt.Sprintf("creating the RoleBinding %s in namespace %s", want.Name, namespace))
	}
	got, err := rbs.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return a.apiFailure(err, fmt.Sprintf("reading the RoleBinding %s in namespace %s", want.Name, namespace))
	}
	if got.RoleRef != want.RoleRef || len(got.Subjects) != 1 || got.Subjects[0] != want.Subjects[0] {
		return inviteFailure(http.StatusConflict, "The RoleBinding %s in namespace %s exists with other contents.", want.Name, namespace)
	}
	return nil
}

// apiFailure turns an API error into a clear answer: RBAC refusals say
// what the auth service may not do.
func (a *acceptor) apiFailure(err error, doing string) error {
	a.log.Error(err, "accepting an invitation failed", "step", doing)
	if apierrors.IsForbidden(err) {
		return inviteFailure(http.StatusForbidden, "The auth service is not allowed to do this (RBAC): %s was forbidden.", doing)
	}
	return inviteFailure(http.StatusInternalServerError, "Accepting the invitation failed while %s.", doing)
}

// release gives the claim up after a failure and records why.
func (a *acceptor) release(claim *corev1.Secret, why error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rel := claim.DeepCopy()
	delete(rel.Annotations, annotationClaimed)
	msg := why.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	rel.Annotations[annotationLastError] = a.now().UTC().Format(time.RFC3339) + ": " + msg
	if _, err := a.client.CoreV1().Secrets(a.namespace).Update(ctx, rel, metav1.UpdateOptions{}); err != nil {
		a.log.Error(err, "releasing the claim of a failed invitation (it expires by itself)", "user", claim.Name)
	}
}

// waitForToken waits (a little) until the resolver's cache knows token.
func (a *acceptor) waitForToken(ctx context.Context, token string) {
	if a.tokens == nil {
		return
	}
	key := DigestOf(token).String()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if sas, err := a.tokens.ServiceAccounts(ctx, key); err == nil && len(sas) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// The invitation caches: invitation Secrets of the users namespace with the
// code replaced by its digest, and the users' ServiceAccounts trimmed to
// the digest of the code they were created from.
const inviteDigestAnnotation = "auth.devgate.dev/code-sha256"

func newInvitationCache(cfg *rest.Config, scheme *runtime.Scheme, namespace string) (cache.Cache, InvitationIndex, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				Field:     fields.OneTermEqualSelector("type", string(TypeInvitation)),
				Transform: trimInvitation,
			},
			tokenindex.ServiceAccountMetadata(): {Transform: trimUser},
		},
	})
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	if err := c.IndexField(ctx, &corev1.Secret{}, digestField, func(o client.Object) []string {
		if d := o.GetAnnotations()[inviteDigestAnnotation]; d != "" {
			return []string{d}
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := c.IndexField(ctx, tokenindex.ServiceAccountMetadata(), digestField, func(o client.Object) []string {
		if d := o.GetAnnotations()[AnnotationInvitation]; d != "" {
			return []string{d}
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	for _, obj := range []client.Object{&corev1.Secret{}, tokenindex.ServiceAccountMetadata()} {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return nil, nil, err
		}
	}
	return c, invitationCache{reader: c}, nil
}

// trimInvitation keeps an invitation's name and the digest of its code.
func trimInvitation(in any) (any, error) {
	s, ok := in.(*corev1.Secret)
	if !ok {
		return in, nil
	}
	out := &corev1.Secret{TypeMeta: s.TypeMeta, Type: s.Type}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = s.Name, s.Namespace, s.UID, s.ResourceVersion
	if code := s.Data[KeyCode]; len(code) > 0 {
		out.Annotations = map[string]string{inviteDigestAnnotation: codeDigest(string(code))}
	} else if d, ok := s.Annotations[inviteDigestAnnotation]; ok {
		out.Annotations = map[string]string{inviteDigestAnnotation: d}
	}
	return out, nil
}

// trimUser keeps a ServiceAccount's name and its invitation digest.
func trimUser(in any) (any, error) {
	obj, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = obj.Name, obj.Namespace, obj.UID, obj.ResourceVersion
	if d := obj.Annotations[AnnotationInvitation]; d != "" {
		out.Annotations = map[string]string{AnnotationInvitation: d}
	}
	return out, nil
}

type invitationCache struct{ reader client.Reader }

func (c invitationCache) InvitationNames(ctx context.Context, digest string) ([]string, error) {
	var list corev1.SecretList
	if err := c.reader.List(ctx, &list, client.MatchingFields{digestField: digest}); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return names, nil
}

func (c invitationCache) CodeUsed(ctx context.Context, digest string) (bool, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := c.reader.List(ctx, list, client.MatchingFields{digestField: digest}); err != nil {
		return false, err
	}
	return len(list.Items) > 0, nil
}
