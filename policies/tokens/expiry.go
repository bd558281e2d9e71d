package tokens

import (
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies/config"
)

// The token lifetime rule, in one place: the token Secret policy, the auth
// service and `devgate check` all call Expiry.

// errNoCreationTime: a Secret the API server stored always has one; a token
// without it cannot be judged, so it is refused.
var errNoCreationTime = errors.New("the Secret has no creation time")

// errTTLNotPositive: a ttl of 0 gives no lifetime at all.
var errTTLNotPositive = errors.New("is not positive")

// now is the clock of the expiry warnings; tests replace it.
var now = time.Now

// Lifetime is the ttl of token Secret s in milliseconds as it counts for its
// expiry: its ttl, or tokens.maxTTL when empty; a ttl above today's maxTTL
// counts as maxTTL, so lowering the setting shortens every token. A ttl that
// does not parse or is not positive is an error.
func Lifetime(s *corev1.Secret, cfg *config.Config) (int64, error) {
	maxTTL := cfg.MaxTTLMillis()
	v := secretValue(s, KeyTTL)
	if v == "" {
		return maxTTL, nil
	}
	ttl, err := ParseTTL(v)
	if err != nil {
		return 0, err
	}
	if ttl <= 0 {
		return 0, errTTLNotPositive
	}
	return min(ttl, maxTTL), nil
}

// Expiry is when the token of Secret s stops being valid: its creation time
// plus its Lifetime. A Secret without creation time, or with an unusable
// ttl, is an error: such a token is refused.
func Expiry(s *corev1.Secret, cfg *config.Config) (time.Time, error) {
	ttl, err := Lifetime(s, cfg)
	if err != nil {
		return time.Time{}, err
	}
	if s.CreationTimestamp.IsZero() {
		return time.Time{}, errNoCreationTime
	}
	// ttl <= maxTTL, itself a time.Duration: no overflow.
	return s.CreationTimestamp.Add(time.Duration(ttl) * time.Millisecond), nil
}
