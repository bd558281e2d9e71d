package auth

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Headers of a 2xx answer; ingress-nginx copies those named in the Ingress's
// auth-response-headers to the backend (and drops the client's own).
const (
	HeaderUser  = "X-Auth-Request-User"
	HeaderEmail = "X-Auth-Request-Email"
)

// verifyHandler answers ingress-nginx's auth-url subrequests.
type verifyHandler struct {
	auth    *Authenticator
	access  AccessReviewer
	limiter *FailureLimiter
	now     func() time.Time
	log     logr.Logger
}

func (h *verifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The answer is about this request's credentials only: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	ns := r.URL.Query().Get("namespace")
	if len(validation.IsDNS1123Label(ns)) > 0 {
		http.Error(w, "the namespace query parameter must name a namespace", http.StatusBadRequest)
		return
	}
	client := clientAddress(r)
	log := h.log.WithValues("client", client, "namespace", ns)
	if hasCredentials(r) {
		if ok, wait := h.limiter.Allow(client); !ok {
			log.V(1).Info("refused: too many failed attempts")
			refused(r, refusalRateLimited)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.5)))
			unauthorized(w)
			return
		}
	}
	now := h.now()
	id, g, err := h.auth.Authenticate(r.Context(), r, ns, now)
	var why refusal
	switch {
	case errors.Is(err, errNoCredentials):
		refused(r, refusalNoCredentials)
		unauthorized(w)
		return
	case errors.As(err, &why):
		h.limiter.Fail(client)
		log.V(1).Info("refused credentials", "reason", why.Error())
		refused(r, refusalBadCredentials)
		unauthorized(w)
		return
	case err != nil:
		log.Error(err, "resolving credentials failed")
		http.Error(w, "resolving credentials failed", http.StatusInternalServerError)
		return
	}
	allowed, err := h.access.CanAccess(r.Context(), id, ns)
	switch {
	case errors.Is(err, errAccessThrottled):
		// 403, not 429: ingress-nginx turns any auth answer but 2xx, 401
		// and 403 into a 500.
		log.V(1).Info("refused: too many refused namespaces", "user", id.User)
		http.Error(w, "no access to this namespace (too many refused namespaces, try again later)", http.StatusForbidden)
		return
	case errors.Is(err, errAccessBusy):
		log.Error(err, "access review failed", "user", id.User)
		http.Error(w, "the access check is busy", http.StatusInternalServerError)
		return
	case err != nil:
		log.Error(err, "access review failed", "user", id.User)
		http.Error(w, "the access check failed", http.StatusInternalServerError)
		return
	}
	if !allowed {
		log.V(1).Info("no access to the namespace", "user", id.User)
		http.Error(w, "no access to this namespace", http.StatusForbidden)
		return
	}
	if g != nil {
		// The endpoint's own session: host-only (no Domain), so the browser
		// sends it to this host alone, and bound to host and namespace in its
		// signature. ingress-nginx relays it (auth_request_set $auth_cookie).
		http.SetCookie(w, &http.Cookie{
			Name:     CookieName,
			Value:    g.encode(h.auth.Sessions),
			Path:     "/",
			Expires:  g.expires,
			MaxAge:   max(1, int(g.expires.Sub(now).Seconds())),
			Secure:   true,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
		log.V(1).Info("sign-in code redeemed", "user", id.User, "host", g.host)
	}
	w.Header().Set(HeaderUser, id.User)
	if id.Email != "" {
		w.Header().Set(HeaderEmail, id.Email)
	}
	w.WriteHeader(http.StatusOK)
}

// hasCredentials reports whether r presents any credential: a bearer
// token, a session cookie or a sign-in code.
func hasCredentials(r *http.Request) bool {
	if _, ok := bearerToken(r); ok || len(sessionCookies(r)) > 0 {
		return true
	}
	_, codes, _ := originalURL(r.Header.Get("X-Original-URL"))
	return len(codes) > 0
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="devgate"`)
	http.Error(w, "credentials required", http.StatusUnauthorized)
}
