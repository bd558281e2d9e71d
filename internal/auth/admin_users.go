package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/policies/tokens"
)

// Admin -> Users (<publicURL>/admin/users): every user, the pending
// invitations, and the invitation form, for admins (who may create Secrets
// in the users namespace). The invitations are made, shown again and
// revoked by the very code of `devgate invite`, with the auth service's
// credentials once the admin check has passed; invited-by is the admin.
//
// Every form is protected against cross-site requests twice: an Origin
// header, when sent (browsers always do), must be the public URL's origin,
// and a request signed in with the session cookie must carry the form token
// of that session (an HMAC under the cookie secret of the session's value),
// which only a page of this service shows. A request with a bearer token
// needs no form token: no browser sends one on its own.

// maxAdminForm bounds the admin forms.
const maxAdminForm = 8 << 10

type adminUsersHandler struct {
	*pageBase
	client     kubernetes.Interface
	users      string // the users namespace
	namespaces NamespaceChecker
}

// userView is one user of the list.
type userView struct {
	Name       string    `json:"name"`
	Created    time.Time `json:"created"`
	Age        string    `json:"age"`
	Namespaces []string  `json:"namespaces"`
}

type invitationView struct {
	User       string    `json:"user"`
	Namespaces []string  `json:"namespaces"`
	Age        string    `json:"age"`
	Expires    time.Time `json:"expires"`
	Expired    bool      `json:"expired"`
	InvitedBy  string    `json:"invitedBy"`
	Link       string    `json:"link,omitempty"`
}

type adminUsersView struct {
	Users []userView `json:"users"`
	// MembersUnknown: the RoleBindings could not be read.
	MembersUnknown bool             `json:"membersUnknown,omitempty"`
	Invitations    []invitationView `json:"invitations"`
	// Form holds what the invitation form shows again after an error.
	Form struct{ User, Namespaces string } `json:"-"`
}

// formToken is the form token of a session: kind-prefixed so that no other
// value signed with the secret (cookies, invitation form tokens) is one.
func (p *pageBase) formToken(session string) string {
	d := sha256.Sum256([]byte(session))
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte("admin-form."))
	m.Write(d[:])
	return b64.EncodeToString(m.Sum(nil))
}

// checkForm refuses a cross-site form: the Origin, and for a session the
// form token (field csrf or header X-CSRF-Token).
func (p *pageBase) checkForm(r *http.Request, v viewer) bool {
	if o := r.Header.Get("Origin"); o != "" && !sameOriginAs(o, p.publicURL()) {
		return false
	}
	if v.session == "" {
		return true
	}
	token := r.PostFormValue(csrfField)
	if token == "" {
		token = r.Header.Get("X-CSRF-Token")
	}
	return token != "" && hmac.Equal([]byte(token), []byte(p.formToken(v.session)))
}

// action wraps one page or form of Admin -> Users: the user must be
// signed in and an admin, and a form must come from this site.
func (h *adminUsersHandler) action(back func(*http.Request) string, next func(http.ResponseWriter, *http.Request, viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		v, ok := h.authenticate(w, r, back(r))
		if !ok {
			return
		}
		admin, err := h.admins.IsAdmin(r.Context(), v.Identity)
		if err != nil {
			h.log.Error(err, "the admin check failed", "user", v.User)
			h.plainError(w, r, http.StatusInternalServerError, "The admin check failed; try again later.")
			return
		}
		if !admin {
			refused(r, refusalForbidden)
			h.plainError(w, r, http.StatusForbidden, "Only admins (who may create Secrets in the users namespace) manage users.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxAdminForm)
			if err := r.ParseForm(); err != nil {
				h.plainError(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if !h.checkForm(r, v) {
				refused(r, refusalCrossOrigin)
				h.plainError(w, r, http.StatusForbidden, "This form did not come from this site's own page, or it has expired: open Admin -> Users again.")
				return
			}
		}
		next(w, r, v)
	})
}

// register adds the pages and forms under prefix.
func (h *adminUsersHandler) register(mux *http.ServeMux, prefix string) {
	page := func(*http.Request) string { return "/admin/users" }
	mux.Handle("GET "+prefix+"/admin/users", h.action(page, func(w http.ResponseWriter, r *http.Request, v viewer) {
		h.list(w, r, v, http.StatusOK, "", nil)
	}))
	mux.Handle("POST "+prefix+"/admin/users/invite", h.action(page, h.invite))
	mux.Handle("GET "+prefix+"/admin/users/invitations/{user}", h.action(func(r *http.Request) string {
		return "/admin/users/invitations/" + url.PathEscape(r.PathValue("user"))
	}, func(w http.ResponseWriter, r *http.Request, v viewer) { h.showLink(w, r, v, r.PathValue("user")) }))
	mux.Handle("POST "+prefix+"/admin/users/invitations/{user}/revoke", h.action(page, func(w http.ResponseWriter, r *http.Request, v viewer) {
		h.revoke(w, r, v, r.PathValue("user"))
	}))
}

func (h *adminUsersHandler) store() Invitations {
	return Invitations{Client: h.client, Namespace: h.users, Now: h.now}
}

// list renders the page (or its JSON) with status, an error and the form
// as it was sent.
func (h *adminUsersHandler) list(w http.ResponseWriter, r *http.Request, v viewer, status int, msg string, form url.Values) {
	view, err := h.view(r.Context())
	if err != nil {
		h.log.Error(err, "listing users failed")
		h.plainError(w, r, http.StatusInternalServerError, explain(err, h.users))
		return
	}
	if wantsJSON(r) {
		if msg != "" {
			writeJSON(w, status, map[string]string{"error": msg})
			return
		}
		writeJSON(w, status, view)
		return
	}
	view.Form.User, view.Form.Namespaces = form.Get("user"), form.Get("namespaces")
	h.render(w, status, "admin-users", pageData{Title: "Users", Base: h.basePath(), User: h.displayName(v.User), Admin: true,
		Error: msg, CSRF: h.formToken(v.session), Page: view})
}

// view reads the users, their memberships and the pending invitations.
func (h *adminUsersHandler) view(ctx context.Context) (adminUsersView, error) {
	view := adminUsersView{Users: []userView{}, Invitations: []invitationView{}}
	sas, err := h.client.CoreV1().ServiceAccounts(h.users).List(ctx, metav1.ListOptions{LabelSelector: tokens.LabelExternalID})
	if err != nil {
		return view, err
	}
	members, err := h.memberships(ctx)
	if err != nil {
		h.log.Info("the users' namespaces are unknown: listing RoleBindings failed", "error", err.Error())
		view.MembersUnknown = true
	}
	now := h.now()
	for _, sa := range sas.Items {
		ns := members[sa.Name]
		if ns == nil {
			ns = []string{}
		}
		view.Users = append(view.Users, userView{Name: sa.Name, Created: sa.CreationTimestamp.Time,
			Age: duration.HumanDuration(now.Sub(sa.CreationTimestamp.Time)), Namespaces: ns})
	}
	sort.Slice(view.Users, func(i, j int) bool { return view.Users[i].Name < view.Users[j].Name })
	invs, err := h.store().List(ctx)
	if err != nil {
		return view, err
	}
	for _, inv := range invs {
		view.Invitations = append(view.Invitations, h.invitationView(inv, ""))
	}
	return view, nil
}

func (h *adminUsersHandler) invitationView(inv Invitation, link string) invitationView {
	ns := inv.Namespaces
	if ns == nil {
		ns = []string{}
	}
	now := h.now()
	return invitationView{User: inv.User, Namespaces: ns, Age: duration.HumanDuration(now.Sub(inv.Created)),
		Expires: inv.Expires, Expired: !now.Before(inv.Expires), InvitedBy: inv.InvitedBy, Link: link}
}

// memberships maps users to the namespaces where a RoleBinding
// devgate-member-<user> binds them, as accepting an invitation makes it, to
// the ClusterRole devgate-member: a RoleBinding of that name that binds
// anything else makes nobody a member.
func (h *adminUsersHandler) memberships(ctx context.Context) (map[string][]string, error) {
	list, err := h.client.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, rb := range list.Items {
		user, ok := strings.CutPrefix(rb.Name, MemberRoleBindingPrefix)
		if !ok || rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != MemberClusterRole || rb.RoleRef.APIGroup != rbacv1.GroupName {
			continue
		}
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == user && s.Namespace == h.users {
				out[user] = append(out[user], rb.Namespace)
				break
			}
		}
	}
	for _, ns := range out {
		sort.Strings(ns)
	}
	return out, nil
}

// invite is the form "Invite user": `devgate invite USER --namespace NS...`.
func (h *adminUsersHandler) invite(w http.ResponseWriter, r *http.Request, v viewer) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	namespaces := strings.FieldsFunc(r.PostFormValue("namespaces"), func(c rune) bool { return c == ',' || c == ' ' })
	fail := func(status int, msg string) { h.list(w, r, v, status, msg, r.PostForm) }
	if user == "" {
		fail(http.StatusBadRequest, "Enter the user's name.")
		return
	}
	if err := CheckInviteUsage(InviteOptions{User: user, Namespaces: namespaces}); err != nil {
		fail(http.StatusBadRequest, err.Error()+".")
		return
	}
	namespaces, _ = ValidNamespaces(namespaces)
	// As `devgate invite` refuses them: a namespace that does not exist.
	for _, ns := range namespaces {
		exists, err := h.namespaces.NamespaceExists(r.Context(), ns)
		if err != nil {
			h.log.Error(err, "checking a namespace failed")
			fail(http.StatusInternalServerError, "Checking the namespaces failed; try again later.")
			return
		}
		if !exists {
			fail(http.StatusBadRequest, "The namespace "+ns+" does not exist.")
			return
		}
	}
	inv, created, err := h.store().Create(r.Context(), user, namespaces, v.User, 0)
	switch {
	case errors.Is(err, ErrUserExists):
		fail(http.StatusConflict, "The user "+user+" exists already.")
		return
	case apierrors.IsForbidden(err):
		h.log.Info("creating an invitation was forbidden", "error", err.Error())
		fail(http.StatusForbidden, "The auth service may not create invitations in namespace "+h.users+".")
		return
	case err != nil:
		h.log.Error(err, "creating an invitation failed")
		fail(http.StatusInternalServerError, "Creating the invitation failed; try again later.")
		return
	}
	if created {
		h.log.Info("invited a user", "user", user, "namespaces", strings.Join(namespaces, ","), "by", v.User)
	}
	link := inv.Link(h.publicURL())
	if wantsJSON(r) {
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		view := h.invitationView(inv, link)
		writeJSON(w, status, map[string]any{"invitation": view, "created": created})
		return
	}
	// Post/redirect/get: the link's own page, which a reload shows again.
	http.Redirect(w, r, h.basePath()+"/admin/users/invitations/"+url.PathEscape(inv.User), http.StatusSeeOther)
}

// showLink is "View Invite Link".
func (h *adminUsersHandler) showLink(w http.ResponseWriter, r *http.Request, v viewer, user string) {
	if ValidUserName(user) != nil {
		h.plainError(w, r, http.StatusNotFound, "No pending invitation for this user.")
		return
	}
	inv, err := h.store().Get(r.Context(), user)
	if err != nil {
		if errors.Is(err, ErrNoInvitation) {
			h.plainError(w, r, http.StatusNotFound, "No pending invitation for "+user+".")
			return
		}
		h.log.Error(err, "reading an invitation failed")
		h.plainError(w, r, http.StatusInternalServerError, "Reading the invitation failed; try again later.")
		return
	}
	view := h.invitationView(inv, inv.Link(h.publicURL()))
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, view)
		return
	}
	h.render(w, http.StatusOK, "invite-link", pageData{Title: "Invite link for " + user, Base: h.basePath(), User: h.displayName(v.User),
		Admin: true, CSRF: h.formToken(v.session), Page: view})
}

// revoke is "Revoke": `devgate invite --revoke USER`.
func (h *adminUsersHandler) revoke(w http.ResponseWriter, r *http.Request, v viewer, user string) {
	if ValidUserName(user) != nil {
		h.plainError(w, r, http.StatusNotFound, "No pending invitation for this user.")
		return
	}
	err := h.store().Revoke(r.Context(), user)
	switch {
	case errors.Is(err, ErrNoInvitation):
		h.list(w, r, v, http.StatusNotFound, "No pending invitation for "+user+".", nil)
		return
	case err != nil:
		h.log.Error(err, "revoking an invitation failed")
		h.list(w, r, v, http.StatusInternalServerError, "Revoking the invitation failed: "+explain(err, h.users), nil)
		return
	}
	h.log.Info("revoked an invitation", "user", user, "by", v.User)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"revoked": user})
		return
	}
	http.Redirect(w, r, h.basePath()+"/admin/users", http.StatusSeeOther)
}
