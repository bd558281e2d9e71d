package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"devgate.dev/devgate/policies/tokens"
)

// adminFixture is Admin -> Users over a fake API server: the users admin
// and bob (a member of team-a), and the standard tokens; the ServiceAccount
// team-a/ci (saToken) is the admin, alice (memberToken) is not.
type adminFixture struct {
	*dashboardFixture
	client *fake.Clientset
	mux    *http.ServeMux
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	user := func(name string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "devgate",
			CreationTimestamp: metav1.NewTime(testNow.Add(-48 * time.Hour)),
			Labels:            map[string]string{tokens.LabelExternalID: name, tokens.LabelToken: "tok-" + name + "-Qw3rTy7uIo9pAs2D"}}}
	}
	binding := func(ns, name, role, subject string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: subject, Namespace: "devgate"}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}}
	}
	cs := fake.NewClientset(user("admin"), user("bob"),
		binding("team-a", "devgate-member-bob", MemberClusterRole, "bob"),
		// Named like a membership, but granting something else: no membership.
		binding("team-b", "devgate-member-admin", "view", "admin"),
		// A membership's name for someone else: none either.
		binding("team-b", "devgate-member-bob", MemberClusterRole, "mallory"),
	)
	f := &adminFixture{dashboardFixture: newDashboardFixture(t, standardReviewer()), client: cs, mux: http.NewServeMux()}
	h := &adminUsersHandler{pageBase: f.base, client: cs, users: "devgate", namespaces: staticNamespaces{"team-a", "team-b"}}
	h.register(f.mux, "/auth")
	return f
}

func (f *adminFixture) adminSession() string {
	d := DigestOf(saToken)
	return f.sessions.EncodeSignin(d, uidFor(d), f.now.Add(time.Hour))
}

var formTokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken GETs the page with the session and returns its form token.
func (f *adminFixture) formToken(t *testing.T, session string) string {
	t.Helper()
	w := serve(f.mux, adminRequest(http.MethodGet, "/auth/admin/users", nil, cookieHeader(session)))
	m := formTokenRE.FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil {
		t.Fatalf("GET Admin -> Users: %d, no form token:\n%s", w.Code, w.Body)
	}
	return m[1]
}

func adminRequest(method, path string, form url.Values, header map[string]string) *http.Request {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("X-Real-IP", "192.0.2.40")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func (f *adminFixture) invitation(t *testing.T, user string) (Invitation, bool) {
	t.Helper()
	inv, err := Invitations{Client: f.client, Namespace: "devgate"}.Get(context.Background(), user)
	if err == ErrNoInvitation {
		return inv, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return inv, true
}

func TestAdminUsersIsForAdminsOnly(t *testing.T) {
	f := newAdminFixture(t)
	if _, _, err := (Invitations{Client: f.client, Namespace: "devgate"}).Create(context.Background(), "carol", nil, "admin", 0); err != nil {
		t.Fatal(err)
	}
	memberSession := f.sessions.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), f.now.Add(time.Hour))
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/auth/admin/users", nil},
		{"GET", "/auth/admin/users/invitations/carol", nil},
		{"POST", "/auth/admin/users/invite", url.Values{"user": {"dave"}}},
		{"POST", "/auth/admin/users/invitations/carol/revoke", url.Values{}},
	} {
		for name, header := range map[string]map[string]string{
			"bearer":  bearer(memberToken),
			"session": withHeader(cookieHeader(memberSession), "Origin", "https://okteto.example.com"),
		} {
			w := serve(f.mux, adminRequest(tc.method, tc.path, tc.form, header))
			if w.Code != http.StatusForbidden {
				t.Errorf("%s %s as a non-admin (%s): %d, want 403", tc.method, tc.path, name, w.Code)
			}
			if strings.Contains(w.Body.String(), "/invite/") {
				t.Errorf("%s %s as a non-admin shows a link", tc.method, tc.path)
			}
		}
		// Without credentials: a browser signs in first, a form is 401.
		w := serve(f.mux, adminRequest(tc.method, tc.path, tc.form, nil))
		want := http.StatusSeeOther
		if tc.method == "POST" {
			want = http.StatusUnauthorized
		}
		if w.Code != want {
			t.Errorf("%s %s without credentials: %d, want %d", tc.method, tc.path, w.Code, want)
		}
	}
	if _, ok := f.invitation(t, "carol"); !ok {
		t.Error("a non-admin revoked carol's invitation")
	}
	if _, ok := f.invitation(t, "dave"); ok {
		t.Error("a non-admin invited dave")
	}
}

func TestAdminUsersPage(t *testing.T) {
	f := newAdminFixture(t)
	if _, _, err := (Invitations{Client: f.client, Namespace: "devgate", Now: func() time.Time { return testNow }}).Create(context.Background(), "carol", []string{"team-a"}, "admin", 0); err != nil {
		t.Fatal(err)
	}
	w := serve(f.mux, adminRequest("GET", "/auth/admin/users", nil, cookieHeader(f.adminSession())))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		"<td>admin</td>", "<td>bob</td>", "<td>team-a</td>", // bob's one real membership
		"<td>carol</td>", `href="/auth/admin/users/invitations/carol"`, "View Invite Link",
		`action="/auth/admin/users/invitations/carol/revoke"`, "Revoke",
		`action="/auth/admin/users/invite"`, `name="user"`, `name="namespaces"`, "Invite user",
	} {
		mustContain(t, body, want)
	}
	if strings.Contains(body, "team-b") {
		t.Errorf("a RoleBinding that grants no membership counts as one:\n%s", body)
	}
	if strings.Contains(body, "/invite/") {
		t.Error("the list shows links; View Invite Link does")
	}
	if n := len(formTokenRE.FindAllString(body, -1)); n != 2 {
		t.Errorf("%d forms with a form token, want 2 (invite, revoke)", n)
	}

	w = serve(f.mux, adminRequest("GET", "/auth/admin/users", nil, withHeader(bearer(saToken), "Accept", "application/json")))
	var view adminUsersView
	if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	if len(view.Users) != 2 || view.Users[1].Name != "bob" || strings.Join(view.Users[1].Namespaces, ",") != "team-a" ||
		len(view.Users[0].Namespaces) != 0 || len(view.Invitations) != 1 || view.Invitations[0].User != "carol" {
		t.Fatalf("JSON %s", w.Body)
	}

	// View Invite Link: the link of the pending invitation.
	inv, _ := f.invitation(t, "carol")
	link := "https://okteto.example.com/auth/invite/" + inv.Code
	w = serve(f.mux, adminRequest("GET", "/auth/admin/users/invitations/carol", nil, cookieHeader(f.adminSession())))
	if w.Code != http.StatusOK {
		t.Fatalf("View Invite Link: %d", w.Code)
	}
	mustContain(t, w.Body.String(), `value="`+link+`"`)
	if w := serve(f.mux, adminRequest("GET", "/auth/admin/users/invitations/nobody", nil, cookieHeader(f.adminSession()))); w.Code != http.StatusNotFound {
		t.Errorf("View Invite Link of nobody: %d", w.Code)
	}
}

func TestAdminInvite(t *testing.T) {
	f := newAdminFixture(t)
	session := f.adminSession()
	token := f.formToken(t, session)
	header := withHeader(cookieHeader(session), "Origin", "https://okteto.example.com")
	w := serve(f.mux, adminRequest("POST", "/auth/admin/users/invite",
		url.Values{"csrf": {token}, "user": {"carol"}, "namespaces": {"team-b, team-a"}}, header))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/admin/users/invitations/carol" {
		t.Fatalf("status %d, Location %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	inv, ok := f.invitation(t, "carol")
	if !ok || strings.Join(inv.Namespaces, ",") != "team-a,team-b" || inv.InvitedBy != "system:serviceaccount:team-a:ci" || !wellFormedCode(inv.Code) {
		t.Fatalf("the invitation: %+v", inv)
	}
	// Again: the pending invitation's link, as `devgate invite` prints it.
	w = serve(f.mux, adminRequest("POST", "/auth/admin/users/invite",
		url.Values{"user": {"carol"}}, withHeader(bearer(saToken), "Accept", "application/json")))
	var again struct {
		Invitation invitationView
		Created    bool
	}
	if err := json.Unmarshal(w.Body.Bytes(), &again); err != nil || w.Code != http.StatusOK || again.Created ||
		again.Invitation.Link != "https://okteto.example.com/auth/invite/"+inv.Code {
		t.Fatalf("inviting carol again: %d %s", w.Code, w.Body)
	}

	for _, tc := range []struct {
		name, user, namespaces string
		want                   int
		msg                    string
	}{
		{"no name", "", "", http.StatusBadRequest, "Enter the user"},
		{"invalid name", "Dave_1", "", http.StatusBadRequest, "invalid user name"},
		{"invalid namespace", "dave", "Team A", http.StatusBadRequest, "invalid namespace"},
		{"missing namespace", "dave", "team-c", http.StatusBadRequest, "team-c does not exist"},
		{"existing user", "bob", "team-a", http.StatusConflict, "exists already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(f.mux, adminRequest("POST", "/auth/admin/users/invite",
				url.Values{"csrf": {token}, "user": {tc.user}, "namespaces": {tc.namespaces}}, header))
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			mustContain(t, w.Body.String(), tc.msg)
			// The form is shown again with what was entered.
			mustContain(t, w.Body.String(), `value="`+tc.user+`"`)
			if tc.user == "dave" {
				if _, ok := f.invitation(t, "dave"); ok {
					t.Error("dave was invited")
				}
			}
		})
	}
}

func TestAdminFormsRefuseCrossSiteRequests(t *testing.T) {
	f := newAdminFixture(t)
	session := f.adminSession()
	token := f.formToken(t, session)
	// Another session of the same admin has another form token.
	other := f.sessions.EncodeSignin(DigestOf(saToken), uidFor(DigestOf(saToken)), f.now.Add(2*time.Hour))
	otherToken := f.formToken(t, other)
	if otherToken == token {
		t.Fatal("two sessions share a form token")
	}
	same := "https://okteto.example.com"
	for _, tc := range []struct {
		name   string
		header map[string]string
		csrf   string
		want   int
	}{
		{"session, same origin, its token", withHeader(cookieHeader(session), "Origin", same), token, http.StatusSeeOther},
		{"session, no Origin, its token", cookieHeader(session), token, http.StatusSeeOther},
		{"session without a token", withHeader(cookieHeader(session), "Origin", same), "", http.StatusForbidden},
		{"session with another session's token", withHeader(cookieHeader(session), "Origin", same), otherToken, http.StatusForbidden},
		{"session with a forged token", withHeader(cookieHeader(session), "Origin", same), strings.Repeat("A", 43), http.StatusForbidden},
		{"session from another site", withHeader(cookieHeader(session), "Origin", "https://evil.example"), token, http.StatusForbidden},
		{"session from a tenant's endpoint", withHeader(cookieHeader(session), "Origin", "https://web-team-a.okteto.example.com"), token, http.StatusForbidden},
		{"session over http", withHeader(cookieHeader(session), "Origin", "http://okteto.example.com"), token, http.StatusForbidden},
		{"bearer, no token", bearer(saToken), "", http.StatusSeeOther},
		{"bearer from another site", withHeader(bearer(saToken), "Origin", "https://evil.example"), "", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"user": {"carol"}}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			w := serve(f.mux, adminRequest("POST", "/auth/admin/users/invite", form, tc.header))
			if w.Code != tc.want {
				t.Fatalf("invite: status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			_, invited := f.invitation(t, "carol")
			if invited != (tc.want == http.StatusSeeOther) {
				t.Fatalf("invited: %v after %d", invited, w.Code)
			}
			// Revoke is guarded the same way.
			if !invited {
				if _, _, err := (Invitations{Client: f.client, Namespace: "devgate"}).Create(context.Background(), "carol", nil, "admin", 0); err != nil {
					t.Fatal(err)
				}
			}
			w = serve(f.mux, adminRequest("POST", "/auth/admin/users/invitations/carol/revoke", url.Values{"csrf": {tc.csrf}}, tc.header))
			if w.Code != tc.want {
				t.Fatalf("revoke: status %d, want %d", w.Code, tc.want)
			}
			if _, pending := f.invitation(t, "carol"); pending != (tc.want != http.StatusSeeOther) {
				t.Fatalf("pending: %v after revoke %d", pending, w.Code)
			}
			if pending := tc.want != http.StatusSeeOther; pending {
				if err := (Invitations{Client: f.client, Namespace: "devgate"}).Revoke(context.Background(), "carol"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestAdminRevoke(t *testing.T) {
	f := newAdminFixture(t)
	if _, _, err := (Invitations{Client: f.client, Namespace: "devgate"}).Create(context.Background(), "carol", nil, "admin", 0); err != nil {
		t.Fatal(err)
	}
	session := f.adminSession()
	token := f.formToken(t, session)
	header := withHeader(cookieHeader(session), "Origin", "https://okteto.example.com")
	w := serve(f.mux, adminRequest("POST", "/auth/admin/users/invitations/carol/revoke", url.Values{"csrf": {token}}, header))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/admin/users" {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	if _, ok := f.invitation(t, "carol"); ok {
		t.Fatal("carol's invitation is still pending")
	}
	w = serve(f.mux, adminRequest("POST", "/auth/admin/users/invitations/carol/revoke", url.Values{"csrf": {token}}, header))
	if w.Code != http.StatusNotFound {
		t.Fatalf("revoking again: %d", w.Code)
	}
	// A user is no invitation: revoking bob deletes nothing.
	w = serve(f.mux, adminRequest("POST", "/auth/admin/users/invitations/bob/revoke", url.Values{"csrf": {token}}, header))
	if _, err := f.client.CoreV1().ServiceAccounts("devgate").Get(context.Background(), "bob", metav1.GetOptions{}); w.Code != http.StatusNotFound || err != nil {
		t.Fatalf("revoking bob: %d, %v", w.Code, err)
	}
	// Methods other than the form's.
	if w := serve(f.mux, adminRequest("GET", "/auth/admin/users/invitations/carol/revoke", nil, header)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET revoke: %d", w.Code)
	}
}
