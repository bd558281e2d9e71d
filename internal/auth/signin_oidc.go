package auth

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// connectorLink is a "Sign in with <name>" link of the sign-in page.
type connectorLink struct {
	Name string
	URL  string
}

// pageData is what every sign-in page shows, action being the sign-in
// page's path (its prefix is that of the start and callback routes).
func (h *signinHandler) pageData(action string) signinData {
	cfg := h.config.Current()
	return signinData{Domain: cfg.Domain, Action: action, TokenForm: cfg.Auth.SignInWithToken()}
}

// connectorLinks are the start links of the valid connectors, carrying the
// page's redirect target. A plain link: the start is a GET, no script.
func (h *signinHandler) connectorLinks(data signinData) []connectorLink {
	if data.SignedIn {
		return nil
	}
	prefix := strings.TrimSuffix(data.Action, "/signin")
	var out []connectorLink
	for _, c := range h.connectors.list() {
		u := prefix + "/oidc/" + url.PathEscape(c.ID) + "/start"
		if data.Redirect != "" {
			u += "?rd=" + url.QueryEscape(data.Redirect)
		}
		out = append(out, connectorLink{Name: c.Name, URL: u})
	}
	return out
}

// coder makes the sign-in code of a redirect to an endpoint host.
type coder func(host string, now time.Time) string

func tokenCoder(s Sessions, d Digest, uid string, expires time.Time) coder {
	return func(host string, now time.Time) string { return s.EncodeCode(d, uid, expires, host, now) }
}

func oidcCoder(s Sessions, sub oidcSubject, expires time.Time) coder {
	return func(host string, now time.Time) string { return s.EncodeOIDCCode(sub, expires, host, now) }
}

// redirectTo answers 303 to the target. A target on an endpoint host gets a
// code for that host, which its /verify redeems for the host's own session;
// the auth service's own host needs none.
func (h *signinHandler) redirectTo(w http.ResponseWriter, r *http.Request, data signinData, code coder, now time.Time) {
	target := data.Redirect
	if u, err := url.Parse(target); err == nil && u.Hostname() != data.Domain {
		if target, err = withCode(target, code(u.Hostname(), now)); err != nil {
			h.render(w, http.StatusBadRequest, data, "This sign-in link is not valid.")
			return
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// resumeOIDC is resume for the sign-in session of a connector's user: a
// fresh code while the session lasts and its connector is in force.
func (h *signinHandler) resumeOIDC(w http.ResponseWriter, r *http.Request, data signinData, now time.Time) bool {
	for _, v := range sessionCookies(r) {
		sub, expires, err := h.sessions.DecodeOIDCSignin(v, now)
		if err != nil || !h.connectors.Has(sub.Connector) {
			continue
		}
		h.log.V(1).Info("signed in already", "client", clientAddress(r), "user", sub.User, "connector", sub.Connector)
		h.redirectTo(w, r, data, oidcCoder(h.sessions, sub, expires), now)
		return true
	}
	return false
}
