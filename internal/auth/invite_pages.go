package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

//go:embed invite.html
var inviteHTML string

//go:embed welcome.html
var welcomeHTML string

var (
	invitePage  = template.Must(template.New("invite").Parse(inviteHTML))
	welcomePage = template.Must(template.New("welcome").Parse(welcomeHTML))
)

type inviteData struct {
	Domain     string
	Action     string
	User       string
	Namespaces []string
	CSRF       string
	Error      string
}

type welcomeData struct {
	Welcome
	Domain       string
	SigninURL    string
	TokenCommand string
	VerifyURL    string
}

// csrfField names the per-form token of the invitation form (and the
// X-CSRF-Token header of scripts).
const csrfField = "csrf"

// maxInviteForm bounds the invitation form.
const maxInviteForm = 4 << 10

// inviteHandler serves /invite/<code>: GET shows whom it is for and
// consumes nothing (chat apps fetch links to preview them); POST accepts it.
type inviteHandler struct {
	accept    *acceptor
	secret    []byte
	config    ConfigSource
	publicURL func() string
	users     string // the users namespace
	limiter   *FailureLimiter
	log       logr.Logger
}

// csrfToken is the per-form token of a code: an HMAC under the cookie
// secret of the code's digest, with a kind no cookie value has.
func (h *inviteHandler) csrfToken(code string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("invite-form." + codeDigest(code)))
	return b64.EncodeToString(m.Sum(nil))
}

func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

func (h *inviteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w, inlineStyleCSP)
	code := r.PathValue("code")
	data := inviteData{Domain: h.config.Current().Domain, Action: r.URL.Path}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.preview(w, r, code, data)
	case http.MethodPost:
		h.post(w, r, code, data)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *inviteHandler) limited(w http.ResponseWriter, r *http.Request, data inviteData) bool {
	ok, wait := h.limiter.Allow(clientAddress(r))
	if ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.5)))
	h.fail(w, r, data, &inviteError{http.StatusTooManyRequests, "Too many failed attempts: try again in " + wait.Round(time.Second).String() + "."})
	return true
}

func (h *inviteHandler) preview(w http.ResponseWriter, r *http.Request, code string, data inviteData) {
	if h.limited(w, r, data) {
		return
	}
	inv, err := h.accept.Preview(r.Context(), code)
	if err != nil {
		h.fail(w, r, data, err)
		return
	}
	data.User, data.Namespaces, data.CSRF = inv.User, inv.Namespaces, h.csrfToken(code)
	if wantsJSON(r) {
		ns := inv.Namespaces
		if ns == nil {
			ns = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": inv.User, "namespaces": ns, csrfField: data.CSRF})
		return
	}
	h.render(w, http.StatusOK, data)
}

func (h *inviteHandler) post(w http.ResponseWriter, r *http.Request, code string, data inviteData) {
	// Browsers send Origin with every POST; a cross-site one is refused.
	// Other clients may omit it, but none gets past the per-form token.
	if o := r.Header.Get("Origin"); o != "" && !sameOriginAs(o, h.publicURL()) {
		refused(r, refusalCrossOrigin)
		h.fail(w, r, data, &inviteError{http.StatusForbidden, "Accept the invitation from its own page."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxInviteForm)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, data, &inviteError{http.StatusBadRequest, "The form could not be read."})
		return
	}
	if h.limited(w, r, data) {
		return
	}
	token := r.PostFormValue(csrfField)
	if token == "" {
		token = r.Header.Get("X-CSRF-Token")
	}
	// An unknown, used or expired code is answered as GET answers it
	// (404, 410), whatever the form: the form token guards acceptance only.
	if _, err := h.accept.Preview(r.Context(), code); err != nil {
		h.fail(w, r, data, err)
		return
	}
	if !hmac.Equal([]byte(token), []byte(h.csrfToken(code))) {
		refused(r, refusalCrossOrigin)
		h.fail(w, r, data, &inviteError{http.StatusForbidden, "This form has expired or did not come from the invitation page: open the link again."})
		return
	}
	welcome, err := h.accept.Accept(r.Context(), code)
	if err != nil {
		h.fail(w, r, data, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, welcome)
		return
	}
	cfg := h.config.Current()
	base := h.publicURL()
	wd := welcomeData{Welcome: welcome, Domain: cfg.Domain, SigninURL: base + "/signin",
		TokenCommand: TokenCommand(h.users, welcome.User), VerifyURL: base + "/verify"}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if err := welcomePage.Execute(w, wd); err != nil {
		h.log.Error(err, "rendering the welcome page")
	}
}

// fail answers an error: its own status for invitation answers, 500 for
// anything else. An unknown code counts as a failure of the client.
func (h *inviteHandler) fail(w http.ResponseWriter, r *http.Request, data inviteData, err error) {
	var ie *inviteError
	if !errors.As(err, &ie) {
		h.log.Error(err, "invitation lookup failed", "client", clientAddress(r))
		ie = &inviteError{http.StatusInternalServerError, "Something went wrong; try again later."}
	}
	if ie == errInviteUnknown {
		h.limiter.Fail(clientAddress(r))
		refused(r, refusalBadCredentials)
	}
	if wantsJSON(r) {
		writeJSON(w, ie.status, map[string]string{"error": ie.msg})
		return
	}
	data.Error = ie.msg
	h.render(w, ie.status, data)
}

func (h *inviteHandler) render(w http.ResponseWriter, status int, data inviteData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := invitePage.Execute(w, data); err != nil {
		h.log.Error(err, "rendering the invitation page")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sameOriginAs reports whether origin is base's origin (scheme, host, port).
func sameOriginAs(origin, base string) bool {
	o, err := url.Parse(origin)
	b, err2 := url.Parse(base)
	if err != nil || err2 != nil {
		return false
	}
	return o.Scheme == b.Scheme && strings.EqualFold(o.Host, b.Host)
}
