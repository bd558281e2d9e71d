package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed whoami.html
var whoamiHTML string

var whoamiPage = template.Must(template.New("whoami").Parse(whoamiHTML))

// session is the sign-in session a browser presents, whichever way it was
// made.
type session struct {
	User    string    `json:"user"`
	Groups  []string  `json:"groups"`
	Method  string    `json:"method"` // "token" or the connector's name
	Expires time.Time `json:"expires"`
	value   string
}

type whoamiData struct {
	Domain, SigninURL, SignoutURL, CSRF, Error string
	User, Method, Expires                      string
	Groups                                     []string
	SignedOut                                  bool
}

// sessionHandler serves <prefix>/whoami (who is signed in, how, until when)
// and <prefix>/signout (clears the sign-in session).
type sessionHandler struct {
	signin *signinHandler
}

// current returns the browser's valid sign-in session.
func (h *sessionHandler) current(r *http.Request) (session, bool) {
	a := &Authenticator{Resolver: h.signin.resolver, Sessions: h.signin.sessions, Connectors: h.signin.connectors}
	id, connector, exp, value, ok := a.SigninIdentity(r.Context(), r, h.signin.now())
	if !ok {
		return session{}, false
	}
	s := session{User: id.User, Groups: id.Groups, Method: signinToken, Expires: exp, value: value}
	if connector != "" {
		c, _ := h.signin.connectors.get(connector)
		s.Method = c.Name
		// system:authenticated is what the review adds, not what the provider said.
		s.Groups = s.Groups[:len(s.Groups)-1]
	}
	return s, true
}

// csrfToken is the sign-out form's token: an HMAC of the session value, so
// a page elsewhere cannot sign the browser out.
func (h *sessionHandler) csrfToken(value string) string {
	m := hmac.New(sha256.New, h.signin.sessions.Secret)
	m.Write([]byte("signout-form." + value))
	return b64.EncodeToString(m.Sum(nil))
}

// pageData links to the sign-in and sign-out routes under the prefix of the
// request's own route (/auth/whoami: /auth/signin).
func (h *sessionHandler) pageData(r *http.Request) whoamiData {
	prefix := r.URL.Path[:max(0, strings.LastIndexByte(r.URL.Path, '/'))]
	return whoamiData{Domain: h.signin.config.Current().Domain, SigninURL: prefix + "/signin", SignoutURL: prefix + "/signout"}
}

func (h *sessionHandler) whoami(w http.ResponseWriter, r *http.Request) {
	h.signin.securityHeaders(w)
	data := h.pageData(r)
	s, ok := h.current(r)
	if !ok {
		if wantsJSON(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
			return
		}
		h.render(w, http.StatusUnauthorized, data)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, s)
		return
	}
	data.User, data.Groups, data.Method = s.User, s.Groups, s.Method
	data.Expires = s.Expires.UTC().Format(time.RFC3339)
	data.CSRF = h.csrfToken(s.value)
	h.render(w, http.StatusOK, data)
}

// signout clears the sign-in session. GET shows whoami's form; POST needs
// the form's token when a session is there, and an Origin of the domain
// when the browser sends one.
func (h *sessionHandler) signout(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		h.whoami(w, r)
		return
	}
	h.signin.securityHeaders(w)
	data := h.pageData(r)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSigninForm)
	_ = r.ParseForm()
	if o := r.Header.Get("Origin"); o != "" && !h.signin.sameOrigin(o, data.Domain) {
		refused(r, refusalCrossOrigin)
		data.Error = "Sign out from this service's own page."
		h.render(w, http.StatusForbidden, data)
		return
	}
	if s, ok := h.current(r); ok {
		token := r.PostFormValue("csrf")
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		if !hmac.Equal([]byte(token), []byte(h.csrfToken(s.value))) {
			refused(r, refusalCrossOrigin)
			data.Error = "The sign-out form has expired: open it again."
			h.render(w, http.StatusForbidden, data)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]bool{"signedOut": true})
		return
	}
	data.SignedOut = true
	h.render(w, http.StatusOK, data)
}

func (h *sessionHandler) render(w http.ResponseWriter, status int, data whoamiData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := whoamiPage.Execute(w, data); err != nil {
		h.signin.log.Error(err, "rendering the session page")
	}
}
