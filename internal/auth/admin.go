package auth

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// AdminReviewer decides whether an identity is an admin: whether a
// SubjectAccessReview allows it to `create secrets` in the users namespace
// (which is what creating an invitation takes).
type AdminReviewer struct {
	Client    authorizationclient.SubjectAccessReviewInterface
	Namespace string
}

// IsAdmin implements the admin check.
func (a AdminReviewer) IsAdmin(ctx context.Context, id Identity) (bool, error) {
	res, err := a.Client.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: id.User, Groups: id.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: "create", Resource: "secrets"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed && !res.Status.Denied, nil
}

var invitationsPage = template.Must(template.New("invitations").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="same-origin">
<title>Pending invitations · {{.Domain}}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2rem; } td, th { padding: .3rem .6rem; text-align: left; } code { word-break: break-all; }</style>
</head><body><h1>Pending invitations</h1>
<table><tr><th>User</th><th>Namespaces</th><th>Age</th><th>Invite link</th></tr>
{{range .Items}}<tr><td>{{.User}}</td><td>{{.Namespaces}}</td><td>{{.Age}}</td><td><code>{{.Link}}</code></td></tr>
{{else}}<tr><td colspan="4">None.</td></tr>{{end}}
</table><p>Create one with <code>devgate invite USER --namespace NS</code>.</p></body></html>
`))

type invitationItem struct {
	User       string    `json:"user"`
	Namespaces string    `json:"namespaces"`
	Age        string    `json:"age"`
	Expires    time.Time `json:"expires"`
	InvitedBy  string    `json:"invitedBy"`
	Link       string    `json:"link"`
}

// invitationsHandler is GET /auth/invitations: the pending invitations and
// their links ("View Invite Link"), for admins only. The credential is a
// bearer token or the sign-in session.
type invitationsHandler struct {
	resolver  *Resolver
	sessions  Sessions
	admins    AdminReviewer
	store     Invitations
	config    ConfigSource
	publicURL func() string
	limiter   *FailureLimiter
	now       func() time.Time
	log       logr.Logger
}

func (h *invitationsHandler) identity(r *http.Request) (Identity, error) {
	if token, ok := bearerToken(r); ok {
		return h.resolver.Resolve(r.Context(), DigestOf(token))
	}
	for _, v := range sessionCookies(r) {
		if d, uid, _, err := h.sessions.DecodeSignin(v, h.now()); err == nil {
			return h.resolver.ResolveSession(r.Context(), d, uid)
		}
	}
	return Identity{}, errNoCredentials
}

func (h *invitationsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w, inlineStyleCSP)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	client := clientAddress(r)
	if ok, _ := h.limiter.Allow(client); !ok {
		http.Error(w, "too many failed attempts", http.StatusTooManyRequests)
		return
	}
	id, err := h.identity(r)
	var why refusal
	switch {
	case errors.Is(err, errNoCredentials):
		refused(r, refusalNoCredentials)
		http.Error(w, "sign in first, or send Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	case errors.As(err, &why):
		h.limiter.Fail(client)
		refused(r, refusalBadCredentials)
		http.Error(w, "this token is not valid", http.StatusUnauthorized)
		return
	case err != nil:
		h.log.Error(err, "resolving a token failed", "client", client)
		http.Error(w, "try again later", http.StatusInternalServerError)
		return
	}
	admin, err := h.admins.IsAdmin(r.Context(), id)
	if err != nil {
		h.log.Error(err, "the admin check failed", "user", id.User)
		http.Error(w, "the admin check failed; try again later", http.StatusInternalServerError)
		return
	}
	if !admin {
		refused(r, refusalForbidden)
		http.Error(w, "only admins (who may create Secrets in the users namespace) see invitations", http.StatusForbidden)
		return
	}
	list, err := h.store.List(r.Context())
	if err != nil {
		h.log.Error(err, "listing invitations failed")
		http.Error(w, "listing invitations failed", http.StatusInternalServerError)
		return
	}
	items := make([]invitationItem, 0, len(list))
	base := h.publicURL()
	for _, inv := range list {
		items = append(items, invitationItem{User: inv.User, Namespaces: strings.Join(inv.Namespaces, ","),
			Age: duration.HumanDuration(h.now().Sub(inv.Created)), Expires: inv.Expires, InvitedBy: inv.InvitedBy,
			Link: inv.Link(base)})
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, items)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := invitationsPage.Execute(w, map[string]any{"Domain": h.config.Current().Domain, "Items": items}); err != nil {
		h.log.Error(err, "rendering the invitations page")
	}
}
