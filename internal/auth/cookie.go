package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie set by the sign-in page.
const CookieName = "devgate_session"

// MinSecretLength is the shortest cookie secret accepted: 32 bytes, the size
// of an HMAC-SHA256 key that does not weaken it.
const MinSecretLength = 32

const (
	errBadCookie     refusal = "session cookie malformed or not signed by this service"
	errCookieExpired refusal = "session cookie expired"
)

// Sessions signs and checks session cookie values:
// "v1.<expiry, unix seconds>.<token digest, base64url>.<HMAC-SHA256, base64url>".
// The MAC covers the version, expiry and digest, so none can be changed.
type Sessions struct {
	Secret []byte
}

const sessionVersion = "v1"

var b64 = base64.RawURLEncoding

// Encode returns the cookie value for a session of the token with digest d
// that ends at expires.
func (s Sessions) Encode(d Digest, expires time.Time) string {
	payload := sessionVersion + "." + strconv.FormatInt(expires.Unix(), 10) + "." + b64.EncodeToString(d[:])
	return payload + "." + b64.EncodeToString(s.mac(payload))
}

// Decode checks value's signature and expiry and returns the token digest.
func (s Sessions) Decode(value string, now time.Time) (Digest, error) {
	var d Digest
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return d, errBadCookie
	}
	payload, sig := value[:i], value[i+1:]
	mac, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) {
		return d, errBadCookie
	}
	// Signed by us: the rest is well formed unless the format changed.
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != sessionVersion {
		return d, errBadCookie
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return d, errBadCookie
	}
	raw, err := b64.DecodeString(parts[2])
	if err != nil || len(raw) != len(d) {
		return d, errBadCookie
	}
	if now.Unix() >= exp {
		return d, errCookieExpired
	}
	copy(d[:], raw)
	return d, nil
}

func (s Sessions) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.Secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}
