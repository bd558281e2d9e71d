package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
)

// Digest is the SHA-256 of a token value: what the caches are indexed by and
// what the session cookie carries, so neither holds the token itself.
type Digest [sha256.Size]byte

// DigestOf returns the digest of token.
func DigestOf(token string) Digest { return sha256.Sum256([]byte(token)) }

// String is the digest in hexadecimal, the key of the cache indexes.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

func parseDigest(s string) (Digest, bool) {
	var d Digest
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(d) {
		return d, false
	}
	copy(d[:], b)
	return d, true
}

// refusal is why a credential is refused: the client's fault, answered 401,
// as opposed to a failure of the service. Refusals go to logs only.
type refusal string

func (r refusal) Error() string { return string(r) }

const (
	errUnknownToken   refusal = "unknown token"
	errDisabledToken  refusal = "token disabled"
	errExpiredToken   refusal = "token expired"
	errInvalidToken   refusal = "token Secret unusable (no user-id or an unreadable ttl)"
	errAmbiguousToken refusal = "token held by more than one user"
)

// Store finds the holders of a token by digest (hexadecimal).
type Store interface {
	TokenSecrets(ctx context.Context, digest string) ([]*corev1.Secret, error)
	ServiceAccounts(ctx context.Context, digest string) ([]*metav1.PartialObjectMetadata, error)
}

// ConfigSource is the configuration in force (reloaded on change).
type ConfigSource interface{ Current() *config.Config }

// Resolver turns a token digest into an identity.
type Resolver struct {
	Store  Store
	Config ConfigSource
	Now    func() time.Time
}

// Resolve returns the identity of the token whose digest is d.
func (r *Resolver) Resolve(ctx context.Context, d Digest) (Identity, error) {
	cfg := r.Config.Current()
	now := r.Now()
	key := d.String()
	secrets, err := r.Store.TokenSecrets(ctx, key)
	if err != nil {
		return Identity{}, fmt.Errorf("looking up token Secrets: %w", err)
	}
	accounts, err := r.Store.ServiceAccounts(ctx, key)
	if err != nil {
		return Identity{}, fmt.Errorf("looking up ServiceAccounts: %w", err)
	}
	var found []Identity
	why := errUnknownToken
	for _, s := range secrets {
		if !sameDigest(secretDigest(s), d) {
			continue
		}
		id, why1 := secretIdentity(s, cfg, now)
		if why1 != "" {
			why = why1
			continue
		}
		found = append(found, id)
	}
	for _, sa := range accounts {
		token := sa.Labels[tokens.LabelToken]
		if token == "" || !sameDigest(DigestOf(token), d) {
			continue
		}
		found = append(found, serviceAccountIdentity(sa))
	}
	if len(found) == 0 {
		return Identity{}, why
	}
	for _, id := range found[1:] {
		if id.User != found[0].User {
			return Identity{}, errAmbiguousToken
		}
	}
	// New sessions are bound to the same object whatever the cache's order.
	slices.SortFunc(found, func(a, b Identity) int { return strings.Compare(a.UID, b.UID) })
	id := found[0]
	for _, f := range found {
		id.uids = append(id.uids, f.UID)
	}
	return id, nil
}

// ResolveSession resolves the token of a session made when it resolved from
// the object with UID uid, and refuses it when the token no longer resolves
// from that object: a session ends with the Secret (or ServiceAccount) it
// came from, even when another now holds the same token.
func (r *Resolver) ResolveSession(ctx context.Context, d Digest, uid string) (Identity, error) {
	id, err := r.Resolve(ctx, d)
	if err != nil {
		return Identity{}, err
	}
	if !id.heldBy(uid) {
		return Identity{}, errSessionReplaced
	}
	return id, nil
}

// sameDigest compares in constant time: how much of a guess matched must not
// show in the answer's timing.
func sameDigest(a, b Digest) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// secretDigestAnnotation is where the cache keeps a token Secret's digest in
// place of its token (see trimSecret).
const secretDigestAnnotation = "auth.devgate.dev/token-sha256"

// secretDigest is the digest of a token Secret's token: from the annotation
// the cache transform leaves, or computed from the data otherwise.
func secretDigest(s *corev1.Secret) Digest {
	if v, ok := s.Annotations[secretDigestAnnotation]; ok {
		d, _ := parseDigest(v)
		return d
	}
	return DigestOf(string(s.Data[tokens.KeyToken]))
}

// secretIdentity applies SPEC 5.1 to a token Secret whose token matched.
func secretIdentity(s *corev1.Secret, cfg *config.Config, now time.Time) (Identity, refusal) {
	// Anything but "true" or empty is off: fail closed on a value admission
	// would have denied.
	if v := string(s.Data[tokens.KeyEnabled]); v != "" && v != "true" {
		return Identity{}, errDisabledToken
	}
	user := string(s.Data[tokens.KeyUserID])
	if user == "" || !headerSafe(user) {
		return Identity{}, errInvalidToken
	}
	// The lifetime rule is the token policy's own (tokens.Expiry).
	expires, err := tokens.Expiry(s, cfg)
	if err != nil && s.CreationTimestamp.IsZero() {
		return Identity{}, errExpiredToken
	}
	if err != nil {
		return Identity{}, errInvalidToken
	}
	if !now.Before(expires) {
		return Identity{}, errExpiredToken
	}
	return Identity{User: user, Groups: []string{groupAuthenticated}, Email: emailOf(user), Expires: expires,
		UID: string(s.UID)}, ""
}

// serviceAccountIdentity is the identity of a ServiceAccount whose token
// label matched, with the groups the API server gives ServiceAccounts. It has
// no email: the external-id is a label value, which cannot hold an "@".
func serviceAccountIdentity(sa *metav1.PartialObjectMetadata) Identity {
	return Identity{
		User:   "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + sa.Namespace, groupAuthenticated},
		UID:    string(sa.UID),
	}
}
