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
	// Connectors are the OIDC connectors in force: a connector's sessions
	// end when it is removed or becomes invalid. nil: none is.
	Connectors ConnectorSet
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
	// oidc is the connector's user, for a code of an OIDC sign-in (digest
	// and uid are then empty).
	oidc *oidcSubject
}

// encode is the endpoint session value the grant gives.
func (g *grant) encode(s Sessions) string {
	if g.oidc != nil {
		return s.EncodeOIDCEndpoint(*g.oidc, g.expires, g.host, g.namespace)
	}
	return s.EncodeEndpoint(g.digest, g.uid, g.expires, g.host, g.namespace)
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
			if g.oidc != nil {
				if rerr := a.connectorKnown(g.oidc.Connector); rerr != nil {
					return Identity{}, nil, rerr
				}
				return g.oidc.identity(g.expires), g, nil
			}
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
		if derr == errBadCookie {
			if sub, exp, oerr := a.Sessions.DecodeOIDCEndpoint(v, host, namespace, now); oerr != errBadCookie {
				if oerr == nil {
					oerr = a.connectorKnown(sub.Connector)
				}
				if oerr == nil {
					return sub.identity(exp), nil, nil
				}
				derr = oerr
			}
		}
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
		var sub *oidcSubject
		if cerr == errBadCode {
			// Not a token's code: perhaps an OIDC sign-in's.
			if oc, oerr := a.Sessions.DecodeOIDCCode(v, now); oerr != errBadCode {
				c, cerr = code{Expires: oc.Expires, SessionExpires: oc.SessionExpires, Host: oc.Host, Nonce: oc.Nonce}, oerr
				sub = &oc.Subject
			}
		}
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
			g = &grant{digest: c.Digest, uid: c.UID, expires: c.SessionExpires, host: host, namespace: namespace, oidc: sub}
		}
	}
	if g != nil {
		return g, nil
	}
	return nil, err
}

// SigninIdentity returns the identity of the sign-in session r presents on
// the auth service's own host, a token's or a connector's, with the
// connector's ID ("" for a token's), the session's end and its cookie
// value. A token's session holds while its token resolves from the same
// object, a connector's while the connector is in force.
func (a *Authenticator) SigninIdentity(ctx context.Context, r *http.Request, now time.Time) (Identity, string, time.Time, string, bool) {
	for _, v := range sessionCookies(r) {
		if d, uid, exp, err := a.Sessions.DecodeSignin(v, now); err == nil {
			id, err := a.Resolver.ResolveSession(ctx, d, uid)
			if err != nil {
				continue
			}
			if !id.Expires.IsZero() && id.Expires.Before(exp) {
				exp = id.Expires
			}
			return id, "", exp, v, true
		}
		if sub, exp, err := a.Sessions.DecodeOIDCSignin(v, now); err == nil && a.connectorKnown(sub.Connector) == nil {
			return sub.identity(exp), sub.Connector, exp, v, true
		}
	}
	return Identity{}, "", time.Time{}, "", false
}

// connectorKnown refuses the sessions of a connector no longer in force.
func (a *Authenticator) connectorKnown(name string) error {
	if a.Connectors == nil || !a.Connectors.Has(name) {
		return errConnectorGone
	}
	return nil
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
