package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/devenv"
	"devgate.dev/devgate/policies/tokens"
)

const domain = "okteto.example.com"

// The cluster of the tour: alice's namespace has a public and a private
// Service endpoint, a private Ingress and a Service hidden from the UI; bob's
// has a public endpoint. The admin is a member of alice's namespace.
const (
	nsAlice = "alice"
	nsBob   = "bob"
)

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)

// startCluster starts `devgate dev`'s environment: the control plane, the
// webhook, and the auth service, its links under https://<domain>/auth.
func startCluster(t *testing.T) (*devenv.Env, kubernetes.Interface) {
	t.Helper()
	if _, err := controlplane.FindAssets(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yaml")
	cfg := "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: " + domain + "\nauth:\n  publicURL: https://" + domain + "/auth\n"
	if err := os.WriteFile(configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	// The servers log until they stop, after the test's end: into a
	// buffer, shown when the test fails.
	logs := &logBuffer{}
	ctrllog.SetLogger(logs.logger())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devgate's log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env, err := devenv.Start(ctx, devenv.Options{
		ConfigPath: configPath, Dir: dir, Logger: logs.logger(),
		ControlPlaneLog: logFile, WithoutControllerManager: true, ConfigPollInterval: 200 * time.Millisecond,
		AuthBindAddress: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatalf("starting the control plane, devgate and the auth service: %v", err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Stop(stop); err != nil {
			t.Error(err)
		}
	})
	return env, kubernetes.NewForConfigOrDie(env.ControlPlane.Config)
}

func seed(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{nsAlice, nsBob} {
		must(cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	}
	service := func(ns, name string, annotations map[string]string) {
		t.Helper()
		must(cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		}, metav1.CreateOptions{}))
	}
	service(nsAlice, "web", map[string]string{"dev.okteto.com/auto-ingress": "true"})
	service(nsAlice, "api", map[string]string{"dev.okteto.com/auto-ingress": "private"})
	service(nsAlice, "metrics", map[string]string{"dev.okteto.com/auto-ingress": "true", auth.AnnotationHideFromUI: "true"})
	service(nsBob, "shop", map[string]string{"dev.okteto.com/auto-ingress": "true"})
	prefix := networkingv1.PathTypePrefix
	must(cs.NetworkingV1().Ingresses(nsAlice).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "admin", Annotations: map[string]string{"dev.okteto.com/private": "true"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "admin-" + nsAlice + "." + domain,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}},
			}}}},
		}}},
	}, metav1.CreateOptions{}))
	// The admin joins alice's namespace as an invitation would make it.
	must(cs.RbacV1().RoleBindings(nsAlice).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: auth.MemberRoleBindingPrefix + auth.AdminUser},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: auth.AdminUser, Namespace: devenv.Namespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: auth.MemberClusterRole},
	}, metav1.CreateOptions{}))
}

// adminToken reads the admin's token as the documented kubectl line does.
func adminToken(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	list, err := cs.CoreV1().ServiceAccounts(devenv.Namespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: tokens.LabelExternalID + "=" + auth.AdminUser})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("the admin user: %v (%d found)", err, len(list.Items))
	}
	return list.Items[0].Labels[tokens.LabelToken]
}

// signIn signs in with token on the sign-in page the dashboard sends a
// browser to, and returns on the dashboard.
func signIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	step(t, ctx, "opening the dashboard", chromedp.Navigate(base+"/"))
	loc := get(t, ctx, "reading the location", chromedp.Location())
	if !strings.HasPrefix(loc, base+"/signin?rd=") {
		t.Fatalf("without a session the dashboard sent the browser to %s, want the sign-in page", loc)
	}
	step(t, ctx, "signing in",
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", token),
		chromedp.Click(`button[type="submit"]`),
	)
	// The dashboard has a main heading; the sign-in page, refusing, none.
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, chromedp.WaitVisible("main h1")); err != nil {
		page := text(t, ctx)
		if strings.Contains(page, "Sign in from this page itself") {
			// What a browser sends from a page under Referrer-Policy:
			// no-referrer is Origin: null, which the check refuses.
			page += "\n(the sign-in POST was refused as cross-origin: is the sign-in page's Referrer-Policy no-referrer?)"
		}
		t.Fatalf("signing in did not lead to the dashboard (%v): the page is\n%s", err, page)
	}
	if loc := get(t, ctx, "reading the location", chromedp.Location()); loc != base+"/" {
		t.Fatalf("after signing in the browser is at %s, want the dashboard %s/", loc, base)
	}
}

// endpointsOf reads the dashboard's sections: namespace -> its list items.
func endpointsOf(t *testing.T, ctx context.Context) map[string][]string {
	t.Helper()
	js := `Object.fromEntries([...document.querySelectorAll("section.namespace")].map(s =>
		[s.querySelector("h2").textContent, [...s.querySelectorAll("li")].map(li =>
			li.querySelector("a.url").textContent + "|" + li.querySelector(".object").textContent.trim() +
			(li.querySelector('svg.lock[aria-label="private"]') ? "|private" : ""))]))`
	return get(t, ctx, "reading the endpoints", chromedp.Evaluate[map[string][]string](js))
}

func TestDashboardInTheBrowser(t *testing.T) {
	findChromium(t)
	env, cs := startCluster(t)
	seed(t, cs)
	base := "https://" + domain + "/auth"
	front := tlsFront(t, strings.TrimSuffix(env.AuthURL(), "/auth"))
	browser := newBrowser(t, domain, front)

	// The admin signs in with the token and sees alice's endpoints, the
	// private ones locked, and nothing of bob's.
	signIn(t, browser, base, adminToken(t, cs))
	// Services first, then Ingresses, each by name.
	want := map[string][]string{nsAlice: {
		"https://api-alice." + domain + "|Service api|private",
		"https://web-alice." + domain + "|Service web",
		"https://admin-alice." + domain + "|Ingress admin|private",
	}}
	// The endpoint cache sees the objects a moment after they are created.
	eventually(t, 30*time.Second, func() error {
		step(t, browser, "reloading the dashboard", chromedp.Navigate(base+"/"))
		if got := endpointsOf(t, browser); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("the dashboard shows %v, want %v", got, want)
		}
		return nil
	})
	page := text(t, browser)
	mustNotContain(t, page, nsBob, "shop", "metrics")
	screenshot(t, browser, "dashboard.png")

	// Admin -> Users: invite carol to bob's namespace and dave to alice's.
	step(t, browser, "opening Admin -> Users", chromedp.Click(`a[href="/auth/admin/users"]`), chromedp.WaitVisible("#user"))
	links := map[string]string{}
	for _, inv := range []struct{ user, namespaces string }{{"carol", nsBob}, {"dave", nsAlice}} {
		step(t, browser, "inviting "+inv.user,
			chromedp.Navigate(base+"/admin/users"),
			chromedp.WaitVisible("#user"),
			chromedp.SendKeys("#user", inv.user),
			chromedp.SendKeys("#namespaces", inv.namespaces),
			chromedp.Click(`form.invite button[type="submit"]`),
			chromedp.WaitVisible("#link"),
		)
		links[inv.user] = get(t, browser, "reading the link", chromedp.Value("#link"))
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/invite/[A-Za-z0-9_-]{43}$`).MatchString(links[inv.user]) {
			t.Fatalf("the invite link of %s is %q", inv.user, links[inv.user])
		}
	}

	// carol opens her link in a browser of her own, joins and signs in.
	carol, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	// Its first run opens its tab, with no deadline: the tab would close with it.
	if err := chromedp.Do(carol); err != nil {
		t.Fatalf("opening a second browser context: %v", err)
	}
	// The auth service's cache sees a new invitation a moment later.
	eventually(t, 20*time.Second, func() error {
		step(t, carol, "opening carol's link", chromedp.Navigate(links["carol"]))
		if title := get(t, carol, "reading the title", chromedp.Title()); !strings.HasPrefix(title, "Join as carol") {
			return fmt.Errorf("the page is %q", title)
		}
		return nil
	})
	step(t, carol, "joining", chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible("code.token"))
	mustContain(t, text(t, carol), "Welcome, carol")
	carolToken := get(t, carol, "reading the token", chromedp.Text("code.token"))
	if !tokenRE.MatchString(carolToken) {
		t.Fatalf("the welcome screen's token is %q", carolToken)
	}
	signIn(t, carol, base, carolToken)
	eventually(t, 20*time.Second, func() error {
		step(t, carol, "reloading carol's dashboard", chromedp.Navigate(base+"/"))
		got := endpointsOf(t, carol)
		if w := map[string][]string{nsBob: {"https://shop-bob." + domain + "|Service shop"}}; fmt.Sprint(got) != fmt.Sprint(w) {
			return fmt.Errorf("carol's dashboard shows %v, want %v", got, w)
		}
		return nil
	})
	carolPage := text(t, carol)
	mustNotContain(t, carolPage, nsAlice, "Admin")
	step(t, carol, "opening Admin -> Users as carol", chromedp.Navigate(base+"/admin/users"))
	mustContain(t, text(t, carol), "Only admins")

	// The admin sees carol as a user of bob's namespace, dave pending.
	step(t, browser, "opening Admin -> Users", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible("#user"))
	users := get(t, browser, "reading the users", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#users-h ~ .scroll tbody tr")].map(tr => [...tr.cells].map(c => c.textContent.trim()).filter((_, i) => i != 1).join("|"))`))
	if fmt.Sprint(users) != fmt.Sprint([]string{"admin|alice", "carol|bob"}) {
		t.Fatalf("the users are %v", users)
	}
	pending := get(t, browser, "reading the invitations", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#pending-h ~ .scroll tbody tr")].map(tr => tr.cells[0].textContent.trim() + "|" + tr.cells[1].textContent.trim())`))
	if fmt.Sprint(pending) != fmt.Sprint([]string{"dave|alice"}) {
		t.Fatalf("the pending invitations are %v", pending)
	}
	screenshot(t, browser, "admin-users.png")

	// View Invite Link shows dave's link again; Revoke deletes it.
	step(t, browser, "viewing dave's link", chromedp.Click(`a[href="/auth/admin/users/invitations/dave"]`), chromedp.WaitVisible("#link"))
	if got := get(t, browser, "reading the link", chromedp.Value("#link")); got != links["dave"] {
		t.Fatalf("View Invite Link shows %q, want %q", got, links["dave"])
	}
	step(t, browser, "revoking dave's invitation", chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible("#user"),
		chromedp.Click(`form[action="/auth/admin/users/invitations/dave/revoke"] button`),
		chromedp.WaitVisible("#pending-h"),
	)
	mustContain(t, get(t, browser, "reading the invitations", chromedp.Text(`#pending-h ~ p.none`)), "None.")
	if _, err := cs.CoreV1().Secrets(devenv.Namespace).Get(context.Background(), "dave", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dave's invitation after Revoke: %v", err)
	}
	// The revoked link opens nothing.
	eventually(t, 20*time.Second, func() error {
		step(t, carol, "opening dave's revoked link", chromedp.Navigate(links["dave"]))
		if title := get(t, carol, "reading the title", chromedp.Title()); strings.HasPrefix(title, "Join as") {
			return errNotYet
		}
		return nil
	})
}
