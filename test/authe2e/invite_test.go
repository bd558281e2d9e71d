package authe2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/nginxtest"
)

// logBuffer collects the auth service's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) write(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, "%s %s\n", prefix, args)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runningAuth is `devgate auth` in-process as the chart's ServiceAccount.
type runningAuth struct {
	base string // http://127.0.0.1:port
	cfg  *config.Config
	log  *logBuffer
	stop func()
}

func startInviteAuth(t *testing.T, admin *rest.Config, configPath string) *runningAuth {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if configPath == "" {
		configPath = filepath.Join(t.TempDir(), "config.yaml")
		// The links point at the listener; nothing else is configured.
		text := fmt.Sprintf("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: %s\nauth:\n  publicURL: %s/auth\n", domain, base)
		if err := os.WriteFile(configPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	asAuth := rest.CopyConfig(admin)
	asAuth.Impersonate = rest.ImpersonationConfig{UserName: authUser}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	stop := nginxtest.StartAuth(t, auth.Options{
		ConfigPath: configPath, RestConfig: asAuth, Listener: ln, CookieSecret: secret,
		AccessCacheTTL: time.Second, FailureBurst: 10_000, Namespace: usersNamespace,
		Logger: funcr.New(logs.write, funcr.Options{Verbosity: 1}),
	}, logs)
	return &runningAuth{base: base, cfg: cfg, log: logs, stop: stop}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func send(t *testing.T, method, rawURL string, body io.Reader, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, string(b), res.Header}
}

// invite runs the CLI's code (`devgate invite`) with the given client.
func invite(t *testing.T, cs kubernetes.Interface, cfg *config.Config, o auth.InviteOptions) (int, string, string) {
	t.Helper()
	o.Config = cfg
	o.DefaultUsersNamespace = usersNamespace
	var stdout, stderr bytes.Buffer
	code := auth.RunInvite(context.Background(), cs, o, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var linkRE = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/auth/invite/[A-Za-z0-9_-]{43}\n$`)

// csrfOf GETs the invitation as a script does and returns its form token.
func csrfOf(t *testing.T, link string) string {
	t.Helper()
	a := send(t, "GET", link, nil, map[string]string{"Accept": "application/json"})
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", link, a.status, a.body)
	}
	var v struct{ CSRF string }
	if err := json.Unmarshal([]byte(a.body), &v); err != nil || v.CSRF == "" {
		t.Fatalf("GET as JSON: %s (%v)", a.body, err)
	}
	return v.CSRF
}

func acceptJSON(t *testing.T, link, csrf string) answer {
	return send(t, "POST", link, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), map[string]string{
		"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded",
	})
}

func verify(t *testing.T, base, token, ns string) answer {
	return send(t, "GET", base+"/auth/verify?namespace="+ns, nil, bearer(token))
}

// eventually retries f until it returns true, for caches and RBAC to catch up.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitVisible waits until the auth service's cache has seen a new
// invitation: a link is unknown (404) for the moment before.
func waitVisible(t *testing.T, link string) {
	t.Helper()
	eventually(t, "the cache sees the invitation", func() bool { return send(t, "GET", link, nil, nil).status != http.StatusNotFound })
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)

func TestInviteAndAdminThroughAPIServer(t *testing.T) {
	cp := startControlPlane(t)
	ctx := context.Background()
	admin := kubernetes.NewForConfigOrDie(cp.Config)
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	seedAuthRBAC(t, admin)
	configPath := filepath.Join(t.TempDir(), "config.yaml")
	// The links must point at the listener, whose port is only known once
	// it listens: the first start writes its own configuration, copied here.
	srv := startInviteAuth(t, cp.Config, "")
	base := srv.base
	cfg := srv.cfg
	if err := os.WriteFile(configPath, fmt.Appendf(nil, "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: %s\nauth:\n  publicURL: %s/auth\n", domain, base), 0o600); err != nil {
		t.Fatal(err)
	}
	sas := admin.CoreV1().ServiceAccounts(usersNamespace)
	secrets := admin.CoreV1().Secrets(usersNamespace)

	// adminToken reads the token as the kubectl line of the log does.
	adminToken := func(t *testing.T) (string, string) {
		t.Helper()
		list, err := sas.List(ctx, metav1.ListOptions{LabelSelector: tokens.LabelExternalID + "=admin"})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("admin ServiceAccounts: %v, %v", list, err)
		}
		return list.Items[0].Labels[tokens.LabelToken], string(list.Items[0].UID)
	}

	t.Run("admin token created at start, logged as a kubectl line, never the token", func(t *testing.T) {
		tok, _ := adminToken(t)
		if !tokenRE.MatchString(tok) {
			t.Fatalf("admin token %q is not 40 characters of [A-Za-z0-9]", tok)
		}
		logs := srv.log.String()
		if !strings.Contains(logs, "created the admin user") || !strings.Contains(logs, strings.ReplaceAll(auth.TokenCommand(usersNamespace, "admin"), `\`, `\\`)) {
			t.Errorf("the log does not show the kubectl line:\n%s", logs)
		}
		if strings.Contains(logs, tok) {
			t.Error("the log shows the admin token")
		}
	})

	var bobLink string
	t.Run("invite creates, shows again and lists", func(t *testing.T) {
		code, out, errOut := invite(t, admin, cfg, auth.InviteOptions{User: "bob", Namespaces: []string{"team-a"}})
		if code != 0 || !linkRE.MatchString(out) {
			t.Fatalf("invite bob: %d %q %q", code, out, errOut)
		}
		bobLink = strings.TrimSpace(out)
		waitVisible(t, bobLink)
		sec, err := secrets.Get(ctx, "bob", metav1.GetOptions{})
		if err != nil || sec.Type != auth.TypeInvitation || string(sec.Data["namespaces"]) != "team-a" ||
			sec.Annotations[auth.AnnotationInvitedBy] == "" || !strings.HasSuffix(bobLink, "/invite/"+string(sec.Data["code"])) {
			t.Fatalf("invitation Secret: %+v, %v", sec, err)
		}
		code, again, _ := invite(t, admin, cfg, auth.InviteOptions{User: "bob", Namespaces: []string{"team-a"}})
		if code != 0 || strings.TrimSpace(again) != bobLink {
			t.Fatalf("inviting again: %d %q, want the same link %q", code, again, bobLink)
		}
		code, list, _ := invite(t, admin, cfg, auth.InviteOptions{List: true})
		if code != 0 || !strings.Contains(list, "bob") || !strings.Contains(list, "team-a") || !strings.Contains(list, bobLink) {
			t.Fatalf("--list: %d\n%s", code, list)
		}
	})

	t.Run("admins see pending invitations and their links; nobody else", func(t *testing.T) {
		tok, _ := adminToken(t)
		a := send(t, "GET", base+"/auth/invitations", nil, map[string]string{"Accept": "application/json", "Authorization": "Bearer " + tok})
		if a.status != http.StatusOK || !strings.Contains(a.body, `"link":"`+bobLink+`"`) || !strings.Contains(a.body, `"namespaces":"team-a"`) {
			t.Fatalf("admin: %d %s", a.status, a.body)
		}
		if a := send(t, "GET", base+"/auth/invitations", nil, map[string]string{"Authorization": "Bearer " + tok}); a.status != 200 || !strings.Contains(a.body, bobLink) {
			t.Fatalf("admin HTML: %d", a.status)
		}
		if a := send(t, "GET", base+"/auth/invitations", nil, nil); a.status != http.StatusUnauthorized {
			t.Errorf("without credentials: %d", a.status)
		}
		if a := send(t, "GET", base+"/auth/invitations", nil, bearer(randomToken(t))); a.status != http.StatusUnauthorized {
			t.Errorf("unknown token: %d", a.status)
		}
	})

	t.Run("invite refuses bad input", func(t *testing.T) {
		nobody := rest.CopyConfig(cp.Config)
		nobody.Impersonate = rest.ImpersonationConfig{UserName: "nobody"}
		for name, c := range map[string]struct {
			cs   kubernetes.Interface
			o    auth.InviteOptions
			want int
		}{
			"invalid user name":         {admin, auth.InviteOptions{User: "Bob_1"}, 2},
			"user name too long":        {admin, auth.InviteOptions{User: strings.Repeat("a", 64)}, 2},
			"invalid namespace":         {admin, auth.InviteOptions{User: "carl", Namespaces: []string{"Team"}}, 2},
			"namespace does not exist":  {admin, auth.InviteOptions{User: "carl", Namespaces: []string{"no-such-ns"}}, 2},
			"user exists":               {admin, auth.InviteOptions{User: "admin"}, 1},
			"RBAC forbids":              {kubernetes.NewForConfigOrDie(nobody), auth.InviteOptions{User: "carl"}, 1},
			"revoke without invitation": {admin, auth.InviteOptions{Revoke: "carl"}, 1},
		} {
			if code, out, errOut := invite(t, c.cs, cfg, c.o); code != c.want || out != "" {
				t.Errorf("%s: exit %d, stdout %q (stderr %q), want exit %d and no link", name, code, out, errOut, c.want)
			}
		}
		if _, err := secrets.Get(ctx, "carl", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a refused invitation was created: %v", err)
		}
	})

	t.Run("wrong-length and unknown codes: 404", func(t *testing.T) {
		code := bobLink[strings.LastIndex(bobLink, "/")+1:]
		other := []byte(code)
		other[0] ^= 1 // still base64url, another code
		if other[0] == code[0] {
			t.Fatal("no other code")
		}
		for _, c := range []string{code[:42], code + "A", "x", string(other)} {
			for _, m := range []string{"GET", "POST"} {
				if a := send(t, m, base+"/auth/invite/"+c, nil, nil); a.status != http.StatusNotFound {
					t.Errorf("%s code %q: %d, want 404", m, c, a.status)
				}
			}
		}
	})

	t.Run("GET shows the invitation and consumes nothing", func(t *testing.T) {
		before, err := secrets.Get(ctx, "bob", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			a := send(t, "GET", bobLink, nil, nil)
			if a.status != http.StatusOK || !strings.Contains(a.body, "Join as bob") || !strings.Contains(a.body, `<button type="submit">`) {
				t.Fatalf("GET: %d\n%s", a.status, a.body)
			}
		}
		after, err := secrets.Get(ctx, "bob", metav1.GetOptions{})
		if err != nil || after.ResourceVersion != before.ResourceVersion {
			t.Fatalf("GET changed the invitation: %v %s -> %s", err, before.ResourceVersion, after.ResourceVersion)
		}
		if _, err := sas.Get(ctx, "bob", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("GET created the user: %v", err)
		}
	})

	t.Run("POST needs the form token and the same origin", func(t *testing.T) {
		csrf := csrfOf(t, bobLink)
		form := "application/x-www-form-urlencoded"
		if a := send(t, "POST", bobLink, strings.NewReader("csrf=wrong"), map[string]string{"Content-Type": form}); a.status != http.StatusForbidden {
			t.Errorf("wrong form token: %d", a.status)
		}
		if a := send(t, "POST", bobLink, strings.NewReader("csrf="+url.QueryEscape(csrf)),
			map[string]string{"Content-Type": form, "Origin": "https://evil.example"}); a.status != http.StatusForbidden {
			t.Errorf("cross-origin POST: %d", a.status)
		}
		if _, err := secrets.Get(ctx, "bob", metav1.GetOptions{}); err != nil {
			t.Fatalf("a refused POST consumed the invitation: %v", err)
		}
	})

	var bobToken string
	t.Run("exactly one of 20 concurrent POSTs wins", func(t *testing.T) {
		csrf := csrfOf(t, bobLink)
		const n = 20
		answers := make([]answer, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				answers[i] = acceptJSON(t, bobLink, csrf)
			})
		}
		close(start)
		wg.Wait()
		wins, gone := 0, 0
		for _, a := range answers {
			switch a.status {
			case http.StatusOK:
				wins++
				var w auth.Welcome
				if err := json.Unmarshal([]byte(a.body), &w); err != nil || w.User != "bob" || !tokenRE.MatchString(w.Token) ||
					len(w.Namespaces) != 1 || w.Namespaces[0] != "team-a" {
					t.Fatalf("welcome JSON: %s (%v)", a.body, err)
				}
				bobToken = w.Token
			case http.StatusGone:
				gone++
				if strings.Contains(a.body, "bob") {
					t.Errorf("a 410 names the user: %s", a.body)
				}
			default:
				t.Errorf("status %d: %s", a.status, a.body)
			}
		}
		if wins != 1 || gone != n-1 {
			t.Fatalf("%d won and %d were told 410, want 1 and %d", wins, gone, n-1)
		}
		if _, err := secrets.Get(ctx, "bob", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the invitation is still there: %v", err)
		}
		sa, err := sas.Get(ctx, "bob", metav1.GetOptions{})
		if err != nil || sa.Labels[tokens.LabelToken] != bobToken || sa.Labels[tokens.LabelExternalID] != "bob" {
			t.Fatalf("bob's ServiceAccount: %+v %v", sa, err)
		}
		rb, err := admin.RbacV1().RoleBindings("team-a").Get(ctx, "devgate-member-bob", metav1.GetOptions{})
		if err != nil || rb.RoleRef.Name != "devgate-member" || rb.Subjects[0].Name != "bob" || rb.Subjects[0].Namespace != usersNamespace {
			t.Fatalf("RoleBinding: %+v %v", rb, err)
		}
		if strings.Contains(srv.log.String(), bobToken) {
			t.Error("the log shows bob's token")
		}
	})

	t.Run("replayed and later uses: 410", func(t *testing.T) {
		for _, m := range []string{"GET", "POST"} {
			if a := send(t, m, bobLink, nil, nil); a.status != http.StatusGone || !strings.Contains(a.body, "already been used") {
				t.Errorf("%s after acceptance: %d %s", m, a.status, a.body)
			}
		}
		// Once the caches have seen the deletion too (another replica, or
		// after a restart): still 410, from the user's ServiceAccount.
		time.Sleep(500 * time.Millisecond)
		if a := acceptJSON(t, bobLink, "x"); a.status != http.StatusGone {
			t.Errorf("replayed POST: %d", a.status)
		}
	})

	t.Run("the new token opens the listed namespace only, at once", func(t *testing.T) {
		a := verify(t, base, bobToken, "team-a")
		if a.status != http.StatusOK || a.header.Get("X-Auth-Request-User") != "system:serviceaccount:devgate:bob" {
			t.Fatalf("verify team-a: %d %v", a.status, a.header)
		}
		if a := verify(t, base, bobToken, "team-b"); a.status != http.StatusForbidden {
			t.Fatalf("verify team-b: %d", a.status)
		}
		if a := send(t, "GET", base+"/auth/invitations", nil, bearer(bobToken)); a.status != http.StatusForbidden {
			t.Fatalf("a member lists invitations: %d", a.status)
		}
	})

	t.Run("HTML welcome page", func(t *testing.T) {
		code, out, errOut := invite(t, admin, cfg, auth.InviteOptions{User: "dave", Namespaces: []string{"team-b", "team-a"}})
		if code != 0 {
			t.Fatalf("invite dave: %d %s", code, errOut)
		}
		link := strings.TrimSpace(out)
		waitVisible(t, link)
		page := send(t, "GET", link, nil, nil)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
		if page.status != 200 || m == nil {
			t.Fatalf("GET: %d %s", page.status, page.body)
		}
		a := send(t, "POST", link, strings.NewReader("csrf="+url.QueryEscape(m[1])), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Origin": base,
		})
		if a.status != http.StatusOK || !strings.Contains(a.body, "Welcome, dave") || !strings.Contains(a.body, "Store it securely") ||
			!strings.Contains(a.body, "get sa -l=dev.okteto.com/external-id=dave") {
			t.Fatalf("welcome: %d\n%s", a.status, a.body)
		}
		sa, err := sas.Get(ctx, "dave", metav1.GetOptions{})
		if err != nil || !strings.Contains(a.body, sa.Labels[tokens.LabelToken]) {
			t.Fatalf("the welcome page does not show dave's token: %v", err)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
		}
		for _, ns := range []string{"team-a", "team-b"} {
			if v := verify(t, base, sa.Labels[tokens.LabelToken], ns); v.status != 200 {
				t.Errorf("dave in %s: %d", ns, v.status)
			}
		}
	})

	t.Run("revoked and expired invitations", func(t *testing.T) {
		code, out, _ := invite(t, admin, cfg, auth.InviteOptions{User: "carol"})
		if code != 0 {
			t.Fatal("invite carol")
		}
		link := strings.TrimSpace(out)
		waitVisible(t, link)
		if code, _, errOut := invite(t, admin, cfg, auth.InviteOptions{Revoke: "carol"}); code != 0 {
			t.Fatalf("revoke: %d %s", code, errOut)
		}
		if code, list, _ := invite(t, admin, cfg, auth.InviteOptions{List: true}); code != 0 || strings.Contains(list, "carol") {
			t.Fatalf("--list after revoke: %s", list)
		}
		// A revoked code is unknown (404) once the cache saw the deletion,
		// 410 just before; never accepted.
		if a := acceptJSON(t, link, "x"); a.status == 200 {
			t.Fatal("revoked invitation accepted")
		}
		eventually(t, "a revoked invitation is unknown", func() bool { return send(t, "GET", link, nil, nil).status == http.StatusNotFound })

		expiredCode, err := auth.NewCode()
		if err != nil {
			t.Fatal(err)
		}
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "old", Annotations: map[string]string{auth.AnnotationInvitedBy: "admin"}},
			Type:       auth.TypeInvitation,
			StringData: map[string]string{"code": expiredCode, "expires": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		link = base + "/auth/invite/" + expiredCode
		eventually(t, "the cache sees the expired invitation", func() bool { return send(t, "GET", link, nil, nil).status != http.StatusNotFound })
		for _, m := range []string{"GET", "POST"} {
			if a := send(t, m, link, nil, map[string]string{"Accept": "application/json"}); a.status != http.StatusGone || !strings.Contains(a.body, "expired") {
				t.Errorf("%s expired: %d %s", m, a.status, a.body)
			}
		}
		if _, err := sas.Get(ctx, "old", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Error("an expired invitation created its user")
		}
	})

	t.Run("RBAC forbids RoleBindings: clear error, invitation kept, next attempt finishes", func(t *testing.T) {
		code, out, _ := invite(t, admin, cfg, auth.InviteOptions{User: "erin", Namespaces: []string{"team-b"}})
		if code != 0 {
			t.Fatal("invite erin")
		}
		link := strings.TrimSpace(out)
		waitVisible(t, link)
		setRules := func(rules []rbacv1.PolicyRule, allowed bool) {
			t.Helper()
			role, err := admin.RbacV1().ClusterRoles().Get(ctx, "devgate-auth", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			role.Rules = rules
			if _, err := admin.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "RBAC in force", func() bool {
				res, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
					User: authUser, ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: "team-b", Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
				}}, metav1.CreateOptions{})
				return err == nil && res.Status.Allowed == allowed
			})
		}
		var without []rbacv1.PolicyRule
		for _, r := range authClusterRules(t) {
			if r.Resources[0] != "rolebindings" {
				without = append(without, r)
			}
		}
		setRules(without, false)
		csrf := csrfOf(t, link)
		a := acceptJSON(t, link, csrf)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "RoleBinding devgate-member-erin in namespace team-b") ||
			!strings.Contains(a.body, "invitation is kept") {
			t.Fatalf("forbidden acceptance: %d %s", a.status, a.body)
		}
		sec, err := secrets.Get(ctx, "erin", metav1.GetOptions{})
		if err != nil || sec.Annotations["devgate.dev/claimed-at"] != "" || !strings.Contains(sec.Annotations["devgate.dev/last-error"], "RoleBinding") {
			t.Fatalf("the invitation after the failure: %+v %v", sec, err)
		}
		half, err := sas.Get(ctx, "erin", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the half-done acceptance created no ServiceAccount: %v", err)
		}
		if c, list, _ := invite(t, admin, cfg, auth.InviteOptions{List: true}); c != 0 || !strings.Contains(list, "erin") {
			t.Fatalf("the failed invitation is not pending: %s", list)
		}
		setRules(authClusterRules(t), true)
		a = acceptJSON(t, link, csrf)
		var w auth.Welcome
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &w) != nil || w.Token != half.Labels[tokens.LabelToken] {
			t.Fatalf("the next attempt: %d %s (want the half-done user's token)", a.status, a.body)
		}
		if v := verify(t, base, w.Token, "team-b"); v.status != 200 {
			t.Fatalf("erin in team-b: %d", v.status)
		}
		if a := acceptJSON(t, link, csrf); a.status != http.StatusGone {
			t.Fatalf("after the finished acceptance: %d", a.status)
		}
	})

	t.Run("admin user deleted while running: recreated at the next start", func(t *testing.T) {
		old, oldUID := adminToken(t)
		if err := sas.Delete(ctx, "admin", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		srv.stop()
		again := startInviteAuth(t, cp.Config, configPath)
		tok, uid := adminToken(t)
		if uid == oldUID || tok == old || !tokenRE.MatchString(tok) {
			t.Fatalf("admin not recreated with a new token: uid %s -> %s", oldUID, uid)
		}
		if logs := again.log.String(); !strings.Contains(logs, "created the admin user") || strings.Contains(logs, tok) {
			t.Errorf("restart log:\n%s", logs)
		}
		// Links are those of the configuration; later uses stay 410 after the restart.
		if a := send(t, "POST", again.base+"/auth/invite/"+bobLink[strings.LastIndex(bobLink, "/")+1:], nil, nil); a.status != http.StatusGone {
			t.Errorf("bob's code after a restart: %d", a.status)
		}
	})
}
