package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie: the sign-in session on the auth
// service's host, and each endpoint's own session on that endpoint's host.
const CookieName = "devgate_session"

// MinSecretLength is the shortest cookie secret accepted: 32 bytes, the size
// of an HMAC-SHA256 key that does not weaken it.
const MinSecretLength = 32

const (
	errBadCookie     refusal = "session cookie malformed or not signed by this service"
	errCookieExpired refusal = "session cookie expired"
	errCookieHost    refusal = "session cookie of another host or namespace"
	// errSessionReplaced: the token now resolves from another object than
	// the one the session was made with (its Secret was deleted and created
	// again, say): sessions end with the object they came from.
	errSessionReplaced refusal = "session of a token object that no longer holds the token"
)

// Sessions signs and checks session cookie values and sign-in codes. Every
// value is "<kind>.<fields...>.<HMAC-SHA256 of all before it, base64url>", so
// no field can be changed and no kind read as another:
//
//   - sign-in session, host-only on the auth service's host:
//     "s3.<expiry>.<token digest>.<uid>"
//   - endpoint session, host-only on an endpoint host:
//     "e3.<expiry>.<token digest>.<uid>.<host>.<namespace>"
//   - sign-in code (see code.go):
//     "c3.<code expiry>.<session expiry>.<token digest>.<uid>.<host>.<nonce>"
//
// Expiries are unix seconds; digests, UIDs (of the token Secret or
// ServiceAccount the token was resolved from), hosts, namespaces and nonces
// base64url.
type Sessions struct {
	Secret []byte
}

// Kinds of signed values. The version "v1" of the domain-wide cookie is no
// longer accepted anywhere, nor the "s2", "e2" and "c2" values that were not
// bound to the token's object.
const (
	kindSignin   = "s3"
	kindEndpoint = "e3"
	kindCode     = "c3"
)

var b64 = base64.RawURLEncoding

// EncodeSignin returns the value of the sign-in session of the token with
// digest d, resolved from the object with UID uid, that ends at expires.
func (s Sessions) EncodeSignin(d Digest, uid string, expires time.Time) string {
	return s.sign(kindSignin, unix(expires), b64.EncodeToString(d[:]), b64.EncodeToString([]byte(uid)))
}

// DecodeSignin checks a sign-in session value and returns its token digest,
// object UID and expiry. An endpoint session or a code is refused.
func (s Sessions) DecodeSignin(value string, now time.Time) (Digest, string, time.Time, error) {
	f, err := s.open(value, kindSignin, 3)
	if err != nil {
		return Digest{}, "", time.Time{}, err
	}
	exp, d, err := expiryAndDigest(f[0], f[1], now, errCookieExpired)
	if err != nil {
		return Digest{}, "", time.Time{}, err
	}
	uid, err := b64.DecodeString(f[2])
	if err != nil {
		return Digest{}, "", time.Time{}, errBadCookie
	}
	return d, string(uid), exp, nil
}

// EncodeEndpoint returns the value of the session of the token with digest d,
// resolved from the object with UID uid, for the endpoint host in namespace,
// ending at expires.
func (s Sessions) EncodeEndpoint(d Digest, uid string, expires time.Time, host, namespace string) string {
	return s.sign(kindEndpoint, unix(expires), b64.EncodeToString(d[:]), b64.EncodeToString([]byte(uid)),
		b64.EncodeToString([]byte(host)), b64.EncodeToString([]byte(namespace)))
}

// DecodeEndpoint checks an endpoint session value presented for host in
// namespace and returns its token digest and object UID. A session bound to
// another host or namespace, a sign-in session and a code are refused.
func (s Sessions) DecodeEndpoint(value, host, namespace string, now time.Time) (Digest, string, error) {
	f, err := s.open(value, kindEndpoint, 5)
	if err != nil {
		return Digest{}, "", err
	}
	_, d, err := expiryAndDigest(f[0], f[1], now, errCookieExpired)
	if err != nil {
		return Digest{}, "", err
	}
	uid, err := b64.DecodeString(f[2])
	if err != nil {
		return Digest{}, "", errBadCookie
	}
	if !fieldIs(f[3], host) || !fieldIs(f[4], namespace) {
		return Digest{}, "", errCookieHost
	}
	return d, string(uid), nil
}

// sign joins kind and fields with dots and appends their MAC.
func (s Sessions) sign(kind string, fields ...string) string {
	payload := kind + "." + strings.Join(fields, ".")
	return payload + "." + b64.EncodeToString(s.mac(payload))
}

// open checks value's MAC and kind and returns its n fields.
func (s Sessions) open(value, kind string, n int) ([]string, error) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return nil, errBadCookie
	}
	payload, sig := value[:i], value[i+1:]
	mac, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) {
		return nil, errBadCookie
	}
	// Signed by us: the rest is well formed unless the format changed.
	parts := strings.Split(payload, ".")
	if len(parts) != n+1 || parts[0] != kind {
		return nil, errBadCookie
	}
	return parts[1:], nil
}

func (s Sessions) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.Secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// expiryAndDigest parses an expiry and a digest field; expired is returned
// when the expiry has passed at now.
func expiryAndDigest(expiry, digest string, now time.Time, expired refusal) (time.Time, Digest, error) {
	var d Digest
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return time.Time{}, d, errBadCookie
	}
	raw, err := b64.DecodeString(digest)
	if err != nil || len(raw) != len(d) {
		return time.Time{}, d, errBadCookie
	}
	if now.Unix() >= exp {
		return time.Time{}, d, expired
	}
	copy(d[:], raw)
	return time.Unix(exp, 0), d, nil
}

// fieldIs reports whether the base64url field decodes to want.
func fieldIs(field, want string) bool {
	raw, err := b64.DecodeString(field)
	return err == nil && string(raw) == want
}
