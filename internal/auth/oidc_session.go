package auth

import (
	"crypto/rand"
	"encoding/json"
	"strconv"
	"time"
)

// Kinds of the signed values of a sign-in through an OIDC connector. They
// carry the identity itself (user, groups, connector) where a token's carry
// its digest: there is no token to resolve again, so the values are as good
// as the ID token was, until they expire or the connector is removed.
//
//   - sign-in session: "os1.<expiry>.<user>.<groups>.<connector>"
//   - endpoint session: "oe1.<expiry>.<user>.<groups>.<connector>.<host>.<namespace>"
//   - sign-in code: "oc1.<code expiry>.<session expiry>.<user>.<groups>.<connector>.<host>.<nonce>"
//
// user, connector, host and namespace are base64url; groups base64url of a
// JSON array of strings.
const (
	kindOIDCSignin   = "os1"
	kindOIDCEndpoint = "oe1"
	kindOIDCCode     = "oc1"
)

// maxSessionValue bounds a session value, so that the cookie (and the code,
// in a URL) stays well under the 4096 bytes browsers keep of a cookie.
const maxSessionValue = 3500

// oidcSubject is who signed in through a connector.
type oidcSubject struct {
	User      string
	Groups    []string
	Connector string
}

// identity is the subject as the access layer reviews it: its groups plus
// system:authenticated, as the API server adds it to every user.
func (s oidcSubject) identity(expires time.Time) Identity {
	groups := append([]string{}, s.Groups...)
	groups = append(groups, groupAuthenticated)
	return Identity{User: s.User, Groups: groups, Email: emailOf(s.User), Expires: expires}
}

func (s oidcSubject) fields() []string {
	groups, _ := json.Marshal(append([]string{}, s.Groups...)) // strings always marshal
	return []string{b64.EncodeToString([]byte(s.User)), b64.EncodeToString(groups), b64.EncodeToString([]byte(s.Connector))}
}

func subjectOf(user, groups, connector string) (oidcSubject, error) {
	u, uerr := b64.DecodeString(user)
	g, gerr := b64.DecodeString(groups)
	c, cerr := b64.DecodeString(connector)
	var s oidcSubject
	if uerr != nil || gerr != nil || cerr != nil || json.Unmarshal(g, &s.Groups) != nil || len(u) == 0 {
		return oidcSubject{}, errBadCookie
	}
	s.User, s.Connector = string(u), string(c)
	return s, nil
}

// EncodeOIDCSignin returns the sign-in session value of s until expires.
func (s Sessions) EncodeOIDCSignin(sub oidcSubject, expires time.Time) string {
	return s.sign(kindOIDCSignin, append([]string{unix(expires)}, sub.fields()...)...)
}

// DecodeOIDCSignin checks a sign-in session of a connector's user.
func (s Sessions) DecodeOIDCSignin(value string, now time.Time) (oidcSubject, time.Time, error) {
	f, err := s.open(value, kindOIDCSignin, 4)
	if err != nil {
		return oidcSubject{}, time.Time{}, err
	}
	exp, err := expiry(f[0], now, errCookieExpired)
	if err != nil {
		return oidcSubject{}, time.Time{}, err
	}
	sub, err := subjectOf(f[1], f[2], f[3])
	return sub, exp, err
}

// EncodeOIDCEndpoint returns the session value of s for host in namespace.
func (s Sessions) EncodeOIDCEndpoint(sub oidcSubject, expires time.Time, host, namespace string) string {
	fields := append([]string{unix(expires)}, sub.fields()...)
	fields = append(fields, b64.EncodeToString([]byte(host)), b64.EncodeToString([]byte(namespace)))
	return s.sign(kindOIDCEndpoint, fields...)
}

// DecodeOIDCEndpoint checks an endpoint session of a connector's user
// presented for host in namespace: bound to another, it is refused.
func (s Sessions) DecodeOIDCEndpoint(value, host, namespace string, now time.Time) (oidcSubject, time.Time, error) {
	f, err := s.open(value, kindOIDCEndpoint, 6)
	if err != nil {
		return oidcSubject{}, time.Time{}, err
	}
	exp, err := expiry(f[0], now, errCookieExpired)
	if err != nil {
		return oidcSubject{}, time.Time{}, err
	}
	sub, err := subjectOf(f[1], f[2], f[3])
	if err != nil {
		return oidcSubject{}, time.Time{}, err
	}
	if !fieldIs(f[4], host) || !fieldIs(f[5], namespace) {
		return oidcSubject{}, time.Time{}, errCookieHost
	}
	return sub, exp, nil
}

// oidcCode is a decoded sign-in code of a connector's user.
type oidcCode struct {
	Expires        time.Time
	SessionExpires time.Time
	Subject        oidcSubject
	Host           string
	Nonce          [16]byte
}

// EncodeOIDCCode returns a fresh code for host, valid for CodeTTL, granting
// an endpoint session of sub that ends at sessionExpires.
func (s Sessions) EncodeOIDCCode(sub oidcSubject, sessionExpires time.Time, host string, now time.Time) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	fields := append([]string{unix(now.Add(CodeTTL)), unix(sessionExpires)}, sub.fields()...)
	fields = append(fields, b64.EncodeToString([]byte(host)), b64.EncodeToString(nonce[:]))
	return s.sign(kindOIDCCode, fields...)
}

// DecodeOIDCCode checks a connector user's code's signature and expiry.
func (s Sessions) DecodeOIDCCode(value string, now time.Time) (oidcCode, error) {
	var c oidcCode
	f, err := s.open(value, kindOIDCCode, 7)
	if err != nil {
		return c, errBadCode
	}
	if c.Expires, err = expiry(f[0], now, errCodeExpired); err != nil {
		if err == errBadCookie {
			err = errBadCode
		}
		return oidcCode{}, err
	}
	if c.SessionExpires, err = expiry(f[1], now, errCodeExpired); err != nil {
		if err == errBadCookie {
			err = errBadCode
		}
		return oidcCode{}, err
	}
	if c.Subject, err = subjectOf(f[2], f[3], f[4]); err != nil {
		return oidcCode{}, errBadCode
	}
	host, herr := b64.DecodeString(f[5])
	nonce, nerr := b64.DecodeString(f[6])
	if herr != nil || nerr != nil || len(nonce) != len(c.Nonce) {
		return oidcCode{}, errBadCode
	}
	c.Host = string(host)
	copy(c.Nonce[:], nonce)
	return c, nil
}

// expiry parses an expiry field; expired is returned once it has passed.
func expiry(field string, now time.Time, expired refusal) (time.Time, error) {
	exp, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return time.Time{}, errBadCookie
	}
	if now.Unix() >= exp {
		return time.Time{}, expired
	}
	return time.Unix(exp, 0), nil
}
