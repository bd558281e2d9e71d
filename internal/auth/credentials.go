package auth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"devgate.dev/devgate/policies/hosts"
)

// Authenticator resolves a request's credentials to an identity.
type Authenticator struct {
	Resolver *Resolver
	Sessions Sessions
	Codes    *CodeLedger
}

// errNoCredentials: the request carries neither a bearer token nor a
// session cookie nor a sign-in code. A refusal, but not a failure: nothing
// was guessed.
const errNoCredentials refusal = "no credentials"

// grant is an endpoint session to hand out with a successful answer: a code
// was redeemed for it.
type grant struct {
	digest    Digest
	uid       string
	expires   time.Time
	host      string
	namespace string
}

// Authenticate reads `Authorization: Bearer <token>`, else the sign-in code
// and the endpoint session cookie for the X-Original-URL's host and
// namespace. The bearer token wins: it is what a program chose to send, the
// cookie only what a browser had. A valid code wins over the cookie (it is a
// fresh sign-in); a spent or refused one leaves the cookie to decide, so that
// reloading the page the code landed on keeps working. When a code was
// redeemed, the grant is the endpoint session to set.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, namespace string, now time.Time) (Identity, *grant, error) {
	host, codes, ok := originalURL(r.Header.Get("X-Original-URL"))
	if token, bok := bearerToken(r); bok {
		// Codes the URL carries are spent all the same: the backend logs it.
		if len(codes) > 0 {
			_, _ = a.redeem(codes, host, namespace, now)
		}
		id, err := a.Resolver.Resolve(ctx, DigestOf(token))
		return id, nil, err
	}
	cookies := sessionCookies(r)
	switch {
	case !ok && len(cookies) == 0:
		return Identity{}, nil, errNoCredentials
	case !ok:
		// Sessions are bound to an endpoint host: without one, none is valid.
		return Identity{}, nil, errNoTarget
	case len(codes) == 0 && len(cookies) == 0:
		return Identity{}, nil, errNoCredentials
	}
	var err error = errNoCredentials
	if len(codes) > 0 {
		var g *grant
		if g, err = a.redeem(codes, host, namespace, now); g != nil {
			id, rerr := a.Resolver.ResolveSession(ctx, g.digest, g.uid)
			if rerr != nil {
				return Identity{}, nil, rerr
			}
			if !id.Expires.IsZero() && id.Expires.Before(g.expires) {
				g.expires = id.Expires
			}
			return id, g, nil
		}
	}
	// Several cookies of that name can arrive (one per path that set it, or
	// a leftover domain cookie); any valid one will do.
	for _, v := range cookies {
		d, uid, derr := a.Sessions.DecodeEndpoint(v, host, namespace, now)
		if derr != nil {
			if err == errNoCredentials {
				err = derr
			}
			continue
		}
		id, err := a.Resolver.ResolveSession(ctx, d, uid)
		return id, nil, err
	}
	return Identity{}, nil, err
}

// redeem checks the codes presented for host in namespace and spends every
// valid one (none may stay usable once it reached a backend's log); the
// first gives the grant.
func (a *Authenticator) redeem(codes []string, host, namespace string, now time.Time) (*grant, error) {
	if len(codes) > maxCodes {
		return nil, errTooManyCodes
	}
	domain := a.Resolver.Config.Current().Domain
	var g *grant
	var err error
	for _, v := range codes {
		c, cerr := a.Sessions.DecodeCode(v, now)
		switch {
		case cerr != nil:
		case c.Host != host:
			cerr = errCodeHost
		// X-Original-URL's host is the client's Host header, which nginx does
		// not check against the server it routed to (an absolute request
		// line picks the server): the host must at least be one that the
		// namespace of this Ingress's auth-url may have.
		case hosts.Check(host, namespace, domain) != nil:
			cerr = errCodeHost
		case !a.Codes.Redeem(c, now):
			cerr = errCodeSpent
		}
		if cerr != nil {
			if err == nil {
				err = cerr
			}
			continue
		}
		if g == nil {
			g = &grant{digest: c.Digest, uid: c.UID, expires: c.SessionExpires, host: host, namespace: namespace}
		}
	}
	if g != nil {
		return g, nil
	}
	return nil, err
}

func sessionCookies(r *http.Request) []string {
	var out []string
	for _, c := range r.Cookies() {
		if c.Name == CookieName {
			out = append(out, c.Value)
		}
	}
	return out
}

// bearerToken returns the token of an `Authorization: Bearer` header; the
// scheme is case-insensitive (RFC 9110). An empty token counts as none.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
