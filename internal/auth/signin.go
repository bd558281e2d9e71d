package auth

import (
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-logr/logr"
)

//go:embed signin.html
var signinHTML string

var signinPage = template.Must(template.New("signin").Parse(signinHTML))

type signinData struct {
	Domain   string
	Action   string
	Redirect string
	Error    string
	SignedIn bool
	// TokenForm: auth.tokenSignIn offers the token form.
	TokenForm bool
	// Connectors are the "Sign in with <name>" links, one per valid
	// connector (set by render).
	Connectors []connectorLink
}

// maxSigninForm bounds the sign-in form: a token is at most 4096 characters.
const maxSigninForm = 16 << 10

// signinHandler serves the sign-in page: GET shows the form, POST checks the
// token, sets the sign-in session cookie and redirects with a code.
type signinHandler struct {
	resolver *Resolver
	sessions Sessions
	// connectors offer "Sign in with <name>" (nil: none).
	connectors *Connectors
	config     ConfigSource
	limiter    *FailureLimiter
	// maxAge bounds a session; the token's own expiry may end it sooner.
	maxAge time.Duration
	// publicURL is the base of the auth service's links: its origin is the
	// page's own even where it is not https://<domain> (`devgate dev`'s
	// http://127.0.0.1:8082). Nil: only https://<domain>.
	publicURL func() string
	now       func() time.Time
	log       logr.Logger
}

func (h *signinHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.securityHeaders(w)
	data := h.pageData(r.URL.Path)
	domain := data.Domain
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxSigninForm)
		if err := r.ParseForm(); err != nil {
			h.render(w, http.StatusBadRequest, data, "The form could not be read.")
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Query first, then the form's hidden field (r.FormValue reads both).
	if rd := r.FormValue("rd"); rd != "" {
		safe, err := safeRedirect(rd, domain)
		if err != nil {
			h.log.V(1).Info("refused redirect target", "client", clientAddress(r))
			h.render(w, http.StatusBadRequest, data, "This sign-in link is not valid: "+err.Error()+".")
			return
		}
		data.Redirect = safe
	}
	if r.Method != http.MethodPost {
		// Signed in already: a fresh code for this target, no form. This is
		// how one sign-in serves every endpoint host.
		if r.Method == http.MethodGet && data.Redirect != "" && h.resume(w, r, data) {
			return
		}
		h.render(w, http.StatusOK, data, "")
		return
	}
	h.signin(w, r, data)
}

func (h *signinHandler) signin(w http.ResponseWriter, r *http.Request, data signinData) {
	// A cross-site form post could sign a victim in with the attacker's token
	// (login CSRF). Browsers send Origin with every POST; other clients may
	// omit it.
	if o := r.Header.Get("Origin"); o != "" && !h.sameOrigin(o, data.Domain) {
		refused(r, refusalCrossOrigin)
		h.render(w, http.StatusForbidden, data, "Sign in from this page itself.")
		return
	}
	if !data.TokenForm {
		h.render(w, http.StatusForbidden, data, "Signing in with a token is disabled (auth.tokenSignIn).")
		return
	}
	client := clientAddress(r)
	if ok, wait := h.limiter.Allow(client); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.5)))
		h.render(w, http.StatusTooManyRequests, data, "Too many failed attempts: try again in "+wait.Round(time.Second).String()+".")
		return
	}
	token := r.PostFormValue("token")
	if token == "" {
		refused(r, refusalNoCredentials)
		h.render(w, http.StatusBadRequest, data, "Enter a token.")
		return
	}
	d := DigestOf(token)
	id, err := h.resolver.Resolve(r.Context(), d)
	var why refusal
	switch {
	case errors.As(err, &why):
		h.limiter.Fail(client)
		h.log.V(1).Info("sign-in refused", "client", client, "reason", why.Error())
		refused(r, refusalBadCredentials)
		h.render(w, http.StatusUnauthorized, data, "This token is not valid: it is unknown, disabled or expired.")
		return
	case err != nil:
		h.log.Error(err, "resolving a token failed", "client", client)
		h.render(w, http.StatusInternalServerError, data, "Signing in failed; try again later.")
		return
	}
	now := h.now()
	expires := now.Add(h.maxAge)
	if !id.Expires.IsZero() && id.Expires.Before(expires) {
		expires = id.Expires
	}
	// Host-only (no Domain): the browser sends it back to this host alone,
	// the auth service's, never to an endpoint and its tenant's backend.
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    h.sessions.EncodeSignin(d, id.UID, expires),
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(1, int(expires.Sub(now).Seconds())),
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	h.log.Info("signed in", "client", client, "user", id.User)
	signedIn(r, signinToken)
	if data.Redirect != "" {
		h.redirect(w, r, data, d, id.UID, expires, now)
		return
	}
	data.SignedIn = true
	h.render(w, http.StatusOK, data, "")
}

// resume redirects a browser that holds a valid sign-in session to the
// target with a fresh code, and reports whether it did. A stale session is
// no failure: it was ours, nothing was guessed; the form is shown.
func (h *signinHandler) resume(w http.ResponseWriter, r *http.Request, data signinData) bool {
	now := h.now()
	for _, v := range sessionCookies(r) {
		d, uid, expires, err := h.sessions.DecodeSignin(v, now)
		if err != nil {
			continue
		}
		client := clientAddress(r)
		if ok, _ := h.limiter.Allow(client); !ok {
			return false
		}
		id, err := h.resolver.ResolveSession(r.Context(), d, uid)
		if err != nil {
			continue
		}
		if !id.Expires.IsZero() && id.Expires.Before(expires) {
			expires = id.Expires
		}
		h.log.V(1).Info("signed in already", "client", client, "user", id.User)
		h.redirect(w, r, data, d, uid, expires, now)
		return true
	}
	return h.resumeOIDC(w, r, data, now)
}

// redirect answers 303 to the target. A target on an endpoint host gets a
// code for that host, which its /verify redeems for the host's own session;
// the auth service's own host needs none.
func (h *signinHandler) redirect(w http.ResponseWriter, r *http.Request, data signinData, d Digest, uid string, expires, now time.Time) {
	h.redirectTo(w, r, data, tokenCoder(h.sessions, d, uid, expires), now)
}

// sameOrigin reports whether origin is the sign-in page's own: https and the
// domain itself (any port, as behind a port-forward), or the origin of the
// public URL. A browser sends "null" under some referrer policies, which is
// no origin at all; the pages' own policy, same-origin, keeps the real one.
func (h *signinHandler) sameOrigin(origin, domain string) bool {
	u, err := url.Parse(origin)
	if err == nil && u.Scheme == "https" && u.Hostname() == domain {
		return true
	}
	return h.publicURL != nil && sameOriginAs(origin, h.publicURL())
}

func (h *signinHandler) securityHeaders(w http.ResponseWriter) { securityHeaders(w, inlineStyleCSP) }

// The pages' Content-Security-Policy: no scripts at all. The sign-in,
// invitation and welcome pages carry their styles inline and set no
// form-action: browsers apply it to the redirect after the post too, which
// goes to another host. The dashboard's pages use the one stylesheet and
// post only to this service.
const (
	inlineStyleCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
	stylesheetCSP  = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

// securityHeaders are every page's: no caching (pages name a user and, for
// admins, links that are secrets), the policy csp, no framing. The
// referrer is same-origin, not no-referrer: under no-referrer browsers send
// the forms with "Origin: null", which the Origin check must refuse. Other
// origins, the endpoint hosts among them, still get no Referer, so the
// sign-in code of a redirect never leaks through one.
func securityHeaders(w http.ResponseWriter, csp string) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
}

func (h *signinHandler) render(w http.ResponseWriter, status int, data signinData, msg string) {
	data.Error = msg
	data.Connectors = h.connectorLinks(data)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := signinPage.Execute(w, data); err != nil {
		h.log.Error(err, "rendering the sign-in page")
	}
}
