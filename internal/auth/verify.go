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
	if _, hasCredentials := bearerToken(r); hasCredentials || hasCookie(r) {
		if ok, wait := h.limiter.Allow(client); !ok {
			log.V(1).Info("refused: too many failed attempts")
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.5)))
			unauthorized(w)
			return
		}
	}
	id, err := h.auth.Authenticate(r.Context(), r, h.now())
	var why refusal
	switch {
	case errors.Is(err, errNoCredentials):
		unauthorized(w)
		return
	case errors.As(err, &why):
		h.limiter.Fail(client)
		log.V(1).Info("refused credentials", "reason", why.Error())
		unauthorized(w)
		return
	case err != nil:
		log.Error(err, "resolving credentials failed")
		http.Error(w, "resolving credentials failed", http.StatusInternalServerError)
		return
	}
	allowed, err := h.access.CanAccess(r.Context(), id, ns)
	if err != nil {
		log.Error(err, "access review failed", "user", id.User)
		http.Error(w, "the access check failed", http.StatusInternalServerError)
		return
	}
	if !allowed {
		log.V(1).Info("no access to the namespace", "user", id.User)
		http.Error(w, "no access to this namespace", http.StatusForbidden)
		return
	}
	w.Header().Set(HeaderUser, id.User)
	if id.Email != "" {
		w.Header().Set(HeaderEmail, id.Email)
	}
	w.WriteHeader(http.StatusOK)
}

func hasCookie(r *http.Request) bool {
	for _, c := range r.Cookies() {
		if c.Name == CookieName {
			return true
		}
	}
	return false
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="devgate"`)
	http.Error(w, "credentials required", http.StatusUnauthorized)
}
