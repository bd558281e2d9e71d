package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// gatewayVerifyHandler serves /verify/<namespace>/<path>: the check of
// /verify?namespace=<namespace> for gateways that cannot add a query to their
// external-auth call, such as Gateway API's ExternalAuth filter, which calls
// the configured path followed by the request's path. The namespace is the
// path's first segment, which the route's owner cannot choose: devgate writes
// it into the filter.
//
// Such gateways send no X-Original-URL and do not turn a 401 into a redirect
// to the sign-in page themselves, so this handler derives the original URL
// from the forwarded request (X-Forwarded-Host and X-Forwarded-Uri when
// present, else the Host and the path after the namespace) and answers a
// browser without credentials with a 302 to the sign-in page instead of a
// 401; an API client gets the 401.
type gatewayVerifyHandler struct {
	verify *verifyHandler
	// signinURL is the sign-in page's URL, privateEndpoints.signinURL.
	signinURL func() string
}

func (h *gatewayVerifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("namespace")
	original := gatewayOriginalURL(r)
	check := r.Clone(r.Context())
	check.URL.RawQuery = url.Values{"namespace": {ns}}.Encode()
	// Always the URL derived here: a header the client sent is not the
	// gateway's word for what it asked for.
	check.Header.Set("X-Original-URL", original)
	if !wantsHTML(r) || hasCredentials(check) {
		h.verify.ServeHTTP(w, check)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.signinURL()+"?rd="+url.QueryEscape(original), http.StatusFound)
}

// gatewayOriginalURL is the URL the browser asked the gateway for.
func gatewayOriginalURL(r *http.Request) string {
	scheme := "https"
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/" + r.PathValue("rest")
		if r.URL.RawQuery != "" {
			uri += "?" + r.URL.RawQuery
		}
	}
	if !strings.HasPrefix(uri, "/") {
		uri = "/" + uri
	}
	return scheme + "://" + host + uri
}

// wantsHTML reports whether the request is a browser's: its Accept names
// text/html.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
