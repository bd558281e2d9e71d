package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// Invitations (SPEC 7.2): a Secret of type devgate.dev/invitation in the
// users namespace, named after the invited user.
const (
	TypeInvitation corev1.SecretType = "devgate.dev/invitation"
	// KeyCode is the invitation's code: 32 random bytes, base64url.
	KeyCode = "code"
	// KeyNamespaces is the comma-separated list of namespaces the user joins.
	KeyNamespaces = "namespaces"
	// KeyExpires is when the invitation expires (RFC 3339); absent: its
	// creation plus DefaultInvitationTTL.
	KeyExpires = "expires"
	// AnnotationInvitedBy names who created the invitation.
	AnnotationInvitedBy = "devgate.dev/invited-by"
	// annotationClaimed marks an invitation being accepted (RFC 3339 time of
	// the claim): the claim is an update with the resourceVersion read, so
	// exactly one of concurrent acceptances gets it.
	annotationClaimed = "devgate.dev/claimed-at"
	// annotationLastError is why the last acceptance failed; the invitation
	// is kept for the next attempt.
	annotationLastError = "devgate.dev/last-error"
	// AnnotationInvitation, on a user's ServiceAccount, is the SHA-256 (hex)
	// of the code of the invitation it was created from: a later use of the
	// code is "already used", and a half-done acceptance is resumed.
	AnnotationInvitation = "devgate.dev/invitation-sha256"
	// MemberClusterRole is what a RoleBinding devgate-member-<user> grants in
	// each namespace of the invitation.
	MemberClusterRole = "devgate-member"
	// MemberRoleBindingPrefix prefixes those RoleBindings' names.
	MemberRoleBindingPrefix = "devgate-member-"
	// DefaultInvitationTTL is how long an invitation is valid by default.
	DefaultInvitationTTL = 7 * 24 * time.Hour
	// claimTimeout: a claim older than this was abandoned (its replica
	// stopped mid-way) and may be taken again.
	claimTimeout = 2 * time.Minute
	codeBytes    = 32
	// CodeLength is the length of a code: 32 bytes in unpadded base64url.
	CodeLength = 43
)

// Errors of the invitation store.
var (
	ErrUserExists   = errors.New("the user exists already")
	ErrNoInvitation = errors.New("no pending invitation for this user")
)

// Invitation is a pending invitation.
type Invitation struct {
	User       string
	Namespaces []string
	InvitedBy  string
	Created    time.Time
	Expires    time.Time
	// Code is the secret of the link; empty when read from the cache.
	Code string
}

// Link is the invitation link under publicURL.
func (i Invitation) Link(publicURL string) string {
	return InvitationLink(publicURL, i.Code)
}

// InvitationLink is <publicURL>/invite/<code>.
func InvitationLink(publicURL, code string) string {
	return strings.TrimRight(publicURL, "/") + "/invite/" + code
}

// NewCode returns a new invitation code.
func NewCode() (string, error) {
	b := make([]byte, codeBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b64.EncodeToString(b), nil
}

// wellFormedCode reports whether code can be a code at all: its length and
// alphabet. Anything else is unknown without a lookup.
func wellFormedCode(code string) bool {
	if len(code) != CodeLength {
		return false
	}
	b, err := b64.DecodeString(code)
	return err == nil && len(b) == codeBytes
}

// codeDigest is the hex SHA-256 of a code: what the cache indexes and what a
// user's ServiceAccount records, never the code.
func codeDigest(code string) string {
	d := sha256.Sum256([]byte(code))
	return hex.EncodeToString(d[:])
}

// ValidNamespaces checks each namespace name (DNS-1123 labels) and returns
// them sorted and without duplicates.
func ValidNamespaces(namespaces []string) ([]string, error) {
	var out []string
	for _, ns := range namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return nil, fmt.Errorf("invalid namespace %q: %s", ns, msgs[0])
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out, nil
}

func parseNamespaces(v string) []string {
	var out []string
	for _, ns := range strings.Split(v, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// invitationOf reads an invitation Secret.
func invitationOf(s *corev1.Secret) Invitation {
	inv := Invitation{
		User: s.Name, Namespaces: parseNamespaces(string(s.Data[KeyNamespaces])),
		InvitedBy: s.Annotations[AnnotationInvitedBy], Created: s.CreationTimestamp.Time,
		Code: string(s.Data[KeyCode]),
	}
	inv.Expires = inv.Created.Add(DefaultInvitationTTL)
	if v := string(s.Data[KeyExpires]); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			// Unreadable: expired, fail closed.
			t = time.Time{}
		}
		inv.Expires = t
	}
	return inv
}

// Invitations is the invitation store over the API server, with the
// credentials of its client: the CLI's are the admin's own.
type Invitations struct {
	Client    kubernetes.Interface
	Namespace string
	Now       func() time.Time
}

func (s Invitations) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create invites user to namespaces, or returns the pending invitation of
// user (created false) as it is. It fails with ErrUserExists when the user
// exists.
func (s Invitations) Create(ctx context.Context, user string, namespaces []string, invitedBy string, ttl time.Duration) (Invitation, bool, error) {
	if err := ValidUserName(user); err != nil {
		return Invitation{}, false, err
	}
	namespaces, err := ValidNamespaces(namespaces)
	if err != nil {
		return Invitation{}, false, err
	}
	if _, err := s.Client.CoreV1().ServiceAccounts(s.Namespace).Get(ctx, user, metav1.GetOptions{}); err == nil {
		return Invitation{}, false, ErrUserExists
	} else if !apierrors.IsNotFound(err) {
		return Invitation{}, false, err
	}
	if inv, err := s.Get(ctx, user); err == nil || !errors.Is(err, ErrNoInvitation) {
		return inv, false, err
	}
	code, err := NewCode()
	if err != nil {
		return Invitation{}, false, err
	}
	if ttl <= 0 {
		ttl = DefaultInvitationTTL
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: user, Namespace: s.Namespace,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "devgate"},
			Annotations: map[string]string{AnnotationInvitedBy: invitedBy},
		},
		Type: TypeInvitation,
		Data: map[string][]byte{
			KeyCode: []byte(code), KeyNamespaces: []byte(strings.Join(namespaces, ",")),
			KeyExpires: []byte(s.now().Add(ttl).UTC().Format(time.RFC3339)),
		},
	}
	created, err := s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		inv, err := s.Get(ctx, user)
		return inv, false, err
	}
	if err != nil {
		return Invitation{}, false, err
	}
	return invitationOf(created), true, nil
}

// Get returns the pending invitation of user, with its code.
func (s Invitations) Get(ctx context.Context, user string) (Invitation, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, user, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Invitation{}, ErrNoInvitation
	}
	if err != nil {
		return Invitation{}, err
	}
	if sec.Type != TypeInvitation {
		return Invitation{}, fmt.Errorf("the Secret %s/%s is not an invitation (type %q)", s.Namespace, user, sec.Type)
	}
	return invitationOf(sec), nil
}

// List returns the pending invitations, by user.
func (s Invitations) List(ctx context.Context) ([]Invitation, error) {
	list, err := s.Client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", string(TypeInvitation)).String(),
	})
	if err != nil {
		return nil, err
	}
	out := make([]Invitation, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, invitationOf(&list.Items[i]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// Revoke deletes the pending invitation of user.
func (s Invitations) Revoke(ctx context.Context, user string) error {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, user, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ErrNoInvitation
	}
	if err != nil {
		return err
	}
	if sec.Type != TypeInvitation {
		return ErrNoInvitation
	}
	uid := sec.UID
	err = s.Client.CoreV1().Secrets(s.Namespace).Delete(ctx, user, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return ErrNoInvitation
	}
	return err
}

// sameCode compares a presented code with a stored one in constant time.
func sameCode(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
