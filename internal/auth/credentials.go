package auth

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Authenticator resolves a request's credentials to an identity.
type Authenticator struct {
	Resolver *Resolver
	Sessions Sessions
}

// errNoCredentials: the request carries neither a bearer token nor a
// session cookie. A refusal, but not a failure: nothing was guessed.
const errNoCredentials refusal = "no credentials"

// Authenticate reads `Authorization: Bearer <token>`, else the session
// cookie. The bearer token wins when both are present: it is what a program
// chose to send, the cookie only what a browser had.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, now time.Time) (Identity, error) {
	if token, ok := bearerToken(r); ok {
		return a.Resolver.Resolve(ctx, DigestOf(token))
	}
	var err error = errNoCredentials
	// Several cookies of that name can arrive (one per domain or path that set
	// it); any valid one will do.
	for _, c := range r.Cookies() {
		if c.Name != CookieName {
			continue
		}
		d, derr := a.Sessions.Decode(c.Value, now)
		if derr != nil {
			err = derr
			continue
		}
		return a.Resolver.Resolve(ctx, d)
	}
	return Identity{}, err
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
