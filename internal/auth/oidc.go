package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-logr/logr"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// StateCookieName begins the cookies that bind a sign-in through a
// connector to the browser that started it: the state, nonce and PKCE
// verifier live there, signed, for StateTTL. Each sign-in has its own,
// StateCookieName + "_" + its state (stateCookieName), so that two started in
// one browser (two tabs) do not undo each other.
const StateCookieName = "devgate_oidc"

// stateCookieName is the cookie of the sign-in whose state is state; false
// when state cannot be one devgate made (16 random bytes, base64url), so
// that no name is built from anything else.
func stateCookieName(state string) (string, bool) {
	if len(state) == 0 || len(state) > 64 {
		return "", false
	}
	for _, c := range state {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return StateCookieName + "_" + state, true
}

// StateTTL is how long a sign-in at the provider may take.
const StateTTL = 10 * time.Minute

// kindState is the signed state cookie:
// "ot1.<expiry>.<connector>.<state>.<nonce>.<verifier>.<rd>".
const kindState = "ot1"

// systemPrefix begins the Kubernetes system identities, which no provider
// may claim (system:masters, system:serviceaccount:..., system:nodes).
const systemPrefix = "system:"

// providerTimeout bounds each request to a provider.
const providerTimeout = 10 * time.Second

// Why a sign-in through a connector fails; each is a page with its status.
var (
	errStateMissing     = callbackError{http.StatusBadRequest, "This sign-in was not started in this browser, or took longer than 10 minutes: start it again."}
	errStateMismatch    = callbackError{http.StatusBadRequest, "The sign-in state does not match the one this browser started (state mismatch): start it again."}
	errNonceMismatch    = callbackError{http.StatusBadRequest, "The ID token was issued for another sign-in (nonce mismatch): start it again."}
	errNoCode           = callbackError{http.StatusBadRequest, "The identity provider sent no authorization code."}
	errAccessDenied     = callbackError{http.StatusForbidden, "The identity provider denied the sign-in (access_denied)."}
	errEmailUnverified  = callbackError{http.StatusForbidden, "The identity provider has not verified this email address (email_verified is not true)."}
	errSystemIdentity   = callbackError{http.StatusForbidden, "The identity provider claims a Kubernetes system identity (a username or group beginning with system:), which is refused."}
	errTooManyGroups    = callbackError{http.StatusBadRequest, "Too many groups to keep in a session cookie: ask the administrator to narrow the connector's groups_claim."}
	errCodeRefused      = callbackError{http.StatusBadRequest, "The identity provider refused the authorization code: it was used already or has expired. Sign in again."}
	errConnectorUnknown = callbackError{http.StatusNotFound, "No such sign-in connector."}
)

// errConnectorGone: a session's connector was removed or became invalid.
const errConnectorGone refusal = "session of an OIDC connector no longer configured"

// callbackError is a failed sign-in through a connector, shown as a page.
type callbackError struct {
	status int
	msg    string
}

func (e callbackError) Error() string { return e.msg }

// oidcState is what the state cookie holds.
type oidcState struct {
	Expires   time.Time
	Connector string
	State     string
	Nonce     string
	Verifier  string
	Redirect  string
}

func (s Sessions) encodeState(st oidcState) string {
	enc := func(v string) string { return b64.EncodeToString([]byte(v)) }
	return s.sign(kindState, unix(st.Expires), enc(st.Connector), enc(st.State), enc(st.Nonce), enc(st.Verifier), enc(st.Redirect))
}

func (s Sessions) decodeState(value string, now time.Time) (oidcState, error) {
	f, err := s.open(value, kindState, 6)
	if err != nil {
		return oidcState{}, err
	}
	var st oidcState
	if st.Expires, err = expiry(f[0], now, errCookieExpired); err != nil {
		return oidcState{}, err
	}
	out := []*string{&st.Connector, &st.State, &st.Nonce, &st.Verifier, &st.Redirect}
	for i, p := range out {
		raw, err := b64.DecodeString(f[i+1])
		if err != nil {
			return oidcState{}, errBadCookie
		}
		*p = string(raw)
	}
	return st, nil
}

// oidcHandler serves <prefix>/oidc/<connector>/start and <prefix>/callback.
type oidcHandler struct {
	signin     *signinHandler
	connectors *Connectors
	// client reaches the providers; its timeout bounds every request.
	client *http.Client
	log    logr.Logger

	mu        sync.Mutex
	providers map[string]discovered // connector ID -> its last discovery
	// flights shares one discovery among concurrent starts: a flood of
	// starts costs the provider one request at a time per connector.
	flights singleflight.Group
}

// discovered is a connector's provider, for the connector's version.
type discovered struct {
	version  string
	provider *oidc.Provider
}

// discover reads the provider's OpenID configuration. Every start asks
// again, so that an unreachable provider is this service's page naming the
// connector rather than a browser error on the provider's host; the
// callback reuses the last answer, whose key set verifies the ID token.
func (h *oidcHandler) discover(ctx context.Context, c *connector, fresh bool) (*oidc.Provider, error) {
	h.mu.Lock()
	d, ok := h.providers[c.ID]
	h.mu.Unlock()
	if ok && !fresh && d.version == c.version {
		return d.provider, nil
	}
	v, err, _ := h.flights.Do(c.ID+"\x00"+c.version, func() (any, error) {
		// Not the request's context: the discovery is shared, and one
		// client going away must not fail the others.
		ctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), h.client), providerTimeout)
		defer cancel()
		return oidc.NewProvider(ctx, c.Issuer)
	})
	if err != nil {
		return nil, err
	}
	p := v.(*oidc.Provider)
	h.mu.Lock()
	if h.providers == nil {
		h.providers = map[string]discovered{}
	}
	h.providers[c.ID] = discovered{version: c.version, provider: p}
	h.mu.Unlock()
	return p, nil
}

func (h *oidcHandler) oauth2Config(c *connector, p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.Secret, Endpoint: p.Endpoint(),
		RedirectURL: c.RedirectURI, Scopes: c.Scopes}
}

// unreachable is the page of a provider that could not be reached or
// answered nonsense: 502, naming the connector (never the error's URL
// parameters, which can hold a code).
func (h *oidcHandler) unreachable(w http.ResponseWriter, data signinData, c *connector, err error) {
	if c == nil {
		c = &connector{Name: "the connector"}
	}
	h.log.Info("identity provider unreachable", "connector", c.ID, "error", redactURLError(err))
	h.signin.render(w, http.StatusBadGateway, data, fmt.Sprintf("The identity provider of %q cannot be reached; try again later.", c.Name))
}

// start answers GET <prefix>/oidc/<connector>/start?rd=URL: a 302 to the
// provider with state, nonce and a PKCE S256 challenge, all three kept in
// the state cookie of this browser.
func (h *oidcHandler) start(w http.ResponseWriter, r *http.Request) {
	h.signin.securityHeaders(w)
	data := h.signin.pageData(signinPath(r.URL.Path, "/oidc/"))
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	c, ok := h.connectors.get(r.PathValue("connector"))
	if !ok {
		h.signin.render(w, errConnectorUnknown.status, data, errConnectorUnknown.msg)
		return
	}
	if rd := r.URL.Query().Get("rd"); rd != "" {
		safe, err := safeRedirect(rd, data.Domain)
		if err != nil {
			h.signin.render(w, http.StatusBadRequest, data, "This sign-in link is not valid: "+err.Error()+".")
			return
		}
		data.Redirect = safe
	}
	p, err := h.discover(r.Context(), c, true)
	if err != nil {
		h.unreachable(w, data, c, err)
		return
	}
	now := h.signin.now()
	st := oidcState{Expires: now.Add(StateTTL), Connector: c.ID, State: randomValue(), Nonce: randomValue(),
		Verifier: oauth2.GenerateVerifier(), Redirect: data.Redirect}
	name, _ := stateCookieName(st.State)
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: h.signin.sessions.encodeState(st), Path: "/",
		Expires: st.Expires, MaxAge: int(StateTTL.Seconds()),
		// Lax: the provider's redirect back is a top-level GET, which carries it.
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	target := h.oauth2Config(c, p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	http.Redirect(w, r, target, http.StatusFound)
}

// callback answers the provider's redirect to <prefix>/callback: the code is
// exchanged, the ID token verified and the claims mapped to a user, who gets
// the sign-in session and a 303 to rd.
func (h *oidcHandler) callback(w http.ResponseWriter, r *http.Request) {
	h.signin.securityHeaders(w)
	data := h.signin.pageData(signinPath(r.URL.Path, "/callback"))
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := h.signin.now()
	// The state cookie is single use, whatever the outcome.
	if name, ok := stateCookieName(r.URL.Query().Get("state")); ok {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	sub, st, c, err := h.complete(r, now)
	var cerr callbackError
	switch {
	case errors.As(err, &cerr):
		if cerr == errStateMissing || cerr == errStateMismatch || cerr == errNonceMismatch {
			refused(r, refusalBadCredentials)
		}
		name := ""
		if c != nil {
			name = c.ID
		}
		h.log.Info("OIDC sign-in refused", "client", clientAddress(r), "connector", name, "reason", cerr.msg)
		data.Redirect = st.Redirect
		h.signin.render(w, cerr.status, data, cerr.msg)
		return
	case err != nil:
		data.Redirect = st.Redirect
		h.unreachable(w, data, c, err)
		return
	}
	expires := now.Add(h.signin.maxAge)
	value := h.signin.sessions.EncodeOIDCSignin(sub, expires)
	if len(value) > maxSessionValue {
		h.log.Info("OIDC sign-in refused", "client", clientAddress(r), "connector", c.ID, "reason", errTooManyGroups.msg, "groups", len(sub.Groups))
		h.signin.render(w, errTooManyGroups.status, data, errTooManyGroups.msg)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: value, Path: "/", Expires: expires,
		MaxAge: max(1, int(expires.Sub(now).Seconds())),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	h.log.Info("signed in", "client", clientAddress(r), "user", sub.User, "connector", c.ID)
	signedIn(r, signinOIDC)
	data.Redirect = st.Redirect
	if data.Redirect != "" {
		h.signin.redirectTo(w, r, data, oidcCoder(h.signin.sessions, sub, expires), now)
		return
	}
	data.SignedIn = true
	h.signin.render(w, http.StatusOK, data, "")
}

// complete checks the callback's request against the state cookie and the
// provider, and returns the user. A callbackError is the client's or the
// provider's refusal; any other error means the provider could not be used.
func (h *oidcHandler) complete(r *http.Request, now time.Time) (oidcSubject, oidcState, *connector, error) {
	q := r.URL.Query()
	name, named := stateCookieName(q.Get("state"))
	// The cookie of the returned state; any other valid one means this
	// browser started a sign-in, but not this one.
	var st, other oidcState
	found, started := false, false
	for _, ck := range r.Cookies() {
		if !strings.HasPrefix(ck.Name, StateCookieName+"_") {
			continue
		}
		decoded, err := h.signin.sessions.decodeState(ck.Value, now)
		if err != nil {
			continue
		}
		if named && ck.Name == name {
			st, found = decoded, true
			break
		}
		other, started = decoded, true
	}
	switch {
	case !found && started:
		return oidcSubject{}, other, nil, errStateMismatch
	case !found:
		return oidcSubject{}, oidcState{}, nil, errStateMissing
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return oidcSubject{}, st, nil, errStateMismatch
	}
	c, ok := h.connectors.get(st.Connector)
	if !ok {
		return oidcSubject{}, st, nil, errConnectorUnknown
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return oidcSubject{}, st, c, errAccessDenied
		}
		return oidcSubject{}, st, c, callbackError{http.StatusBadRequest, "The identity provider refused the sign-in: " + printable(e, 64) + "."}
	}
	authCode := q.Get("code")
	if authCode == "" {
		return oidcSubject{}, st, c, errNoCode
	}
	p, err := h.discover(r.Context(), c, false)
	if err != nil {
		return oidcSubject{}, st, c, err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), h.client), providerTimeout)
	defer cancel()
	tok, err := h.oauth2Config(c, p).Exchange(ctx, authCode, oauth2.VerifierOption(st.Verifier))
	var rerr *oauth2.RetrieveError
	switch {
	case errors.As(err, &rerr):
		h.log.Info("the identity provider refused the code", "connector", c.ID, "error", rerr.ErrorCode)
		return oidcSubject{}, st, c, errCodeRefused
	case err != nil:
		return oidcSubject{}, st, c, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return oidcSubject{}, st, c, callbackError{http.StatusBadGateway, fmt.Sprintf("The identity provider of %q sent no ID token.", c.Name)}
	}
	idToken, err := p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: func() time.Time { return now }}).Verify(ctx, raw)
	if err != nil {
		return oidcSubject{}, st, c, callbackError{http.StatusUnauthorized, "The identity provider's ID token was refused: " + idTokenRefusal(err) + "."}
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(st.Nonce)) != 1 {
		return oidcSubject{}, st, c, errNonceMismatch
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		return oidcSubject{}, st, c, callbackError{http.StatusBadGateway, "The ID token's claims cannot be read."}
	}
	sub, err := mapClaims(c, claims)
	return sub, st, c, err
}

// mapClaims applies the connector's claim rules (SPEC 7.4) to an ID token's
// verified claims.
func mapClaims(c *connector, claims map[string]any) (oidcSubject, error) {
	name, _ := claims[c.UsernameClaim].(string)
	if name == "" {
		return oidcSubject{}, callbackError{http.StatusForbidden, fmt.Sprintf("The ID token has no %q claim to name the user by.", printable(c.UsernameClaim, 64))}
	}
	if c.UsernameClaim == "email" && !c.IgnoreEmailVerified && !claimTrue(claims["email_verified"]) {
		return oidcSubject{}, errEmailUnverified
	}
	sub := oidcSubject{User: c.UsernamePref + name, Connector: c.ID}
	switch g := claims[c.GroupsClaim].(type) {
	case string:
		sub.Groups = []string{c.GroupsPrefix + g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok && s != "" {
				sub.Groups = append(sub.Groups, c.GroupsPrefix+s)
			}
		}
	}
	if strings.HasPrefix(sub.User, systemPrefix) {
		return oidcSubject{}, errSystemIdentity
	}
	for _, g := range sub.Groups {
		if strings.HasPrefix(g, systemPrefix) {
			return oidcSubject{}, errSystemIdentity
		}
	}
	if !headerSafe(sub.User) || len(sub.User) > 1024 {
		return oidcSubject{}, callbackError{http.StatusForbidden, "The username the ID token claims cannot be sent in a header."}
	}
	return sub, nil
}

// claimTrue reads a boolean claim; some providers send "true" as a string.
func claimTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// idTokenRefusal names why go-oidc refused an ID token, in a few fixed
// words: its errors quote the claims, which are the provider's to keep.
func idTokenRefusal(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "it has expired"
	case strings.Contains(msg, "audience"):
		return "it was issued for another client (audience)"
	case strings.Contains(msg, "issued by a different provider"):
		return "it was issued by another issuer"
	case strings.Contains(msg, "signature"):
		return "its signature does not verify"
	}
	return "it is malformed"
}

// redactURLError drops the URL from a request error: a token endpoint's URL
// is harmless, but an error can quote any URL, and a query can hold a code.
func redactURLError(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Op + ": " + uerr.Err.Error()
	}
	return err.Error()
}

// printable is s cut to n bytes of printable ASCII, for a page.
func printable(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// randomValue is 128 random bits, base64url.
func randomValue() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return b64.EncodeToString(b[:])
}

// signinPath is the sign-in page's path under the prefix that path has:
// "/auth/oidc/x/start" and "/auth/callback" give "/auth/signin".
func signinPath(path, marker string) string {
	if i := strings.LastIndex(path, marker); i >= 0 {
		return path[:i] + "/signin"
	}
	return "/signin"
}
