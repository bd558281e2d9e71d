// Package authe2e proves private endpoints end to end: a real nginx,
// configured the way ingress-nginx renders devgate's auth annotations, in
// front of a test backend, with `devgate auth` resolving tokens and access
// against the local control plane.
package authe2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/nginxtest"
)

const (
	domain    = "okteto.example.com"
	namespace = "team-a"
	member    = "alice@example.com"
	outsider  = "mallory"
	// authUser is who the auth service runs as, with exactly the RBAC the
	// chart grants it.
	authUser = "system:serviceaccount:devgate:devgate-auth"
)

// randomToken is a strong, label-safe token.
func randomToken(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type fixture struct {
	admin   *kubernetes.Clientset
	tokens  map[string]string // name -> token value
	backend *nginxtest.Backend
	nginx   *nginxtest.Nginx
}

func TestPrivateEndpointThroughNginx(t *testing.T) {
	nginxBin, modules := nginxtest.Find(t)
	ctrllog.SetLogger(testr.New(t))
	cp := startControlPlane(t)
	f := &fixture{admin: kubernetes.NewForConfigOrDie(cp.Config), backend: nginxtest.NewBackend(t)}
	f.seed(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := startAuth(t, cp.Config, ln)

	// The Ingress the controller generates for a private Service, and the
	// same with auth-url only, as an API endpoint without sign-in page.
	ing := nginxtest.PrivateIngress(t, cfg, namespace)
	api := ing.DeepCopy()
	api.Spec.Rules[0].Host = "api-" + namespace + "." + domain
	delete(api.Annotations, ingress.AnnotationAuthSignin)
	// A second browser endpoint, to replay web's session and codes against.
	docs := ing.DeepCopy()
	docs.Spec.Rules[0].Host = "docs-" + namespace + "." + domain
	f.nginx = nginxtest.Start(t, nginxtest.Options{
		Bin: nginxBin, ModulesDir: modules, Domain: domain, Auth: ln.Addr().String(), Backend: f.backend.Addr,
		Endpoints: []nginxtest.Endpoint{
			nginxtest.EndpointFromIngress(t, ing.Spec.Rules[0].Host, ing.Annotations),
			nginxtest.EndpointFromIngress(t, api.Spec.Rules[0].Host, api.Annotations),
			nginxtest.EndpointFromIngress(t, docs.Spec.Rules[0].Host, docs.Annotations),
		},
	})

	web := "https://" + ing.Spec.Rules[0].Host
	apiURL := "https://" + api.Spec.Rules[0].Host
	docsURL := "https://" + docs.Spec.Rules[0].Host

	t.Run("browser without credentials is sent to sign in", func(t *testing.T) {
		res := f.do(t, nil, "GET", web+"/app/page?x=1&y=a%20b", nil, map[string]string{"Accept": "text/html"})
		wantSigninRedirect(t, res, web+"/app/page?x=1&y=a%20b")
		f.backend.MustNotSee(t)
	})
	t.Run("no credentials: 401", func(t *testing.T) {
		res := f.do(t, nil, "GET", apiURL+"/v1/things", nil, nil)
		wantStatus(t, res, http.StatusUnauthorized)
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
		}
		f.backend.MustNotSee(t)
	})
	t.Run("unknown, disabled and expired tokens: 401", func(t *testing.T) {
		for _, tok := range []string{randomToken(t), f.tokens["disabled"], f.tokens["expired"]} {
			wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, bearer(tok)), http.StatusUnauthorized)
			wantSigninRedirect(t, f.do(t, nil, "GET", web+"/", nil, bearer(tok)), web+"/")
		}
		f.backend.MustNotSee(t)
	})
	t.Run("user without access to the namespace: 403", func(t *testing.T) {
		wantStatus(t, f.do(t, nil, "GET", web+"/", nil, bearer(f.tokens["outsider"])), http.StatusForbidden)
		f.backend.MustNotSee(t)
	})
	t.Run("member: 200 with the user headers", func(t *testing.T) {
		h := bearer(f.tokens["member"])
		h["X-Auth-Request-User"] = "admin"
		h["X-Auth-Request-Email"] = "admin@evil.example"
		res := f.do(t, nil, "POST", web+"/app?q=1", strings.NewReader("body"), h)
		wantStatus(t, res, http.StatusOK)
		f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/app?q=1", Method: "POST", Body: "body"})
	})
	t.Run("ServiceAccount token: 200 without email", func(t *testing.T) {
		h := bearer(f.tokens["serviceaccount"])
		h["X-Auth-Request-Email"] = "admin@evil.example"
		wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, h), http.StatusOK)
		f.backend.MustSee(t, seen{User: "system:serviceaccount:" + namespace + ":ci", URI: "/", Method: "GET"})
	})
	t.Run("sign-in page refuses foreign redirect targets", func(t *testing.T) {
		for _, rd := range []string{"https://evil.com/", "//evil.com", "https://" + domain + ".evil.com/", "http://web-team-a." + domain + "/"} {
			wantStatus(t, f.do(t, nil, "GET", "https://"+domain+"/auth/signin?rd="+url.QueryEscape(rd), nil, nil), http.StatusBadRequest)
		}
	})
	t.Run("sessions are bound to their host", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		form := url.Values{"token": {f.tokens["member"]}, "rd": {web + "/start"}}
		res := f.do(t, jar, "POST", "https://"+domain+"/auth/signin", strings.NewReader(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
		wantStatus(t, res, http.StatusSeeOther)
		codeURL := wantCodeRedirect(t, res, web+"/start")
		signinSession := jarCookie(t, jar, "https://"+domain+"/auth/signin")
		if u, _ := url.Parse(web); len(jar.Cookies(u)) != 0 {
			t.Fatal("the sign-in session is sent to an endpoint host")
		}

		// The code opens web and gives it its own session.
		res = f.do(t, jar, "GET", codeURL, nil, nil)
		wantStatus(t, res, http.StatusOK)
		wantHostOnly(t, res.Header.Get("Set-Cookie"))
		if got := f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: strings.TrimPrefix(codeURL, web), Method: "GET"}); got.Cookie != "" {
			t.Fatalf("the backend got a cookie with the code: %q", got.Cookie)
		}
		if u, _ := url.Parse(docsURL); len(jar.Cookies(u)) != 0 {
			t.Fatal("web's session is sent to docs")
		}
		res = f.do(t, jar, "GET", web+"/next", nil, nil)
		wantStatus(t, res, http.StatusOK)
		// What web's backend saw: the session of web, nothing else.
		captured := f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/next", Method: "GET"}).Cookie
		if captured != auth.CookieName+"="+jarCookie(t, jar, web) {
			t.Fatalf("web's backend saw Cookie %q, want web's session only", captured)
		}

		// The cookie web's backend saw opens nothing elsewhere.
		wantSigninRedirect(t, f.do(t, nil, "GET", docsURL+"/", nil, map[string]string{"Cookie": captured}), docsURL+"/")
		wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, map[string]string{"Cookie": captured}), http.StatusUnauthorized)
		// Nor does the sign-in session, on any endpoint.
		wantSigninRedirect(t, f.do(t, nil, "GET", web+"/", nil, map[string]string{"Cookie": auth.CookieName + "=" + signinSession}), web+"/")
		// The code, as web's access log shows it, is spent.
		wantSigninRedirect(t, f.do(t, nil, "GET", codeURL, nil, nil), codeURL)
		f.backend.MustNotSee(t)

		// Signed in, the sign-in page hands out a fresh code without the
		// form: here for web, and tried first on docs, which refuses it.
		res = f.do(t, jar, "GET", "https://"+domain+"/auth/signin?rd="+url.QueryEscape(web+"/again"), nil, nil)
		wantStatus(t, res, http.StatusSeeOther)
		fresh := wantCodeRedirect(t, res, web+"/again")
		onDocs := docsURL + strings.TrimPrefix(fresh, web)
		wantSigninRedirect(t, f.do(t, nil, "GET", onDocs, nil, nil), onDocs)
		wantStatus(t, f.do(t, nil, "GET", apiURL+strings.TrimPrefix(fresh, web), nil, nil), http.StatusUnauthorized)
		f.backend.MustNotSee(t)
		// On its own host, once.
		res = f.do(t, nil, "GET", fresh, nil, nil)
		wantStatus(t, res, http.StatusOK)
		wantHostOnly(t, res.Header.Get("Set-Cookie"))
		f.backend.Drain()
		wantSigninRedirect(t, f.do(t, nil, "GET", fresh, nil, nil), fresh)
		f.backend.MustNotSee(t)

		// A code for docs gives docs a session of its own.
		res = f.do(t, jar, "GET", "https://"+domain+"/auth/signin?rd="+url.QueryEscape(docsURL+"/"), nil, nil)
		wantStatus(t, res, http.StatusSeeOther)
		wantStatus(t, f.do(t, jar, "GET", wantCodeRedirect(t, res, docsURL+"/"), nil, nil), http.StatusOK)
		f.backend.Drain()
		wantStatus(t, f.do(t, jar, "GET", docsURL+"/page", nil, nil), http.StatusOK)
		f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/page", Method: "GET"})
		if jarCookie(t, jar, docsURL) == jarCookie(t, jar, web) {
			t.Fatal("docs and web share a session")
		}
	})
	t.Run("sessions end with the Secret they came from", func(t *testing.T) {
		ctx := context.Background()
		secrets := f.admin.CoreV1().Secrets("tokens")
		token := randomToken(t)
		create := func(name, value string) {
			t.Helper()
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: tokens.TypeToken,
				StringData: map[string]string{tokens.KeyToken: value, tokens.KeyUserID: member}}
			if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		// Polls until the auth service's cache holds value's Secret.
		resolves := func(value string) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for f.do(t, nil, "GET", apiURL+"/", nil, bearer(value)).StatusCode != http.StatusOK {
				if time.Now().After(deadline) {
					t.Fatal("the auth service did not see a token Secret within 10s")
				}
				time.Sleep(100 * time.Millisecond)
			}
			f.backend.Drain()
		}
		signIn := func(jar http.CookieJar, rd string) {
			t.Helper()
			form := url.Values{"token": {token}, "rd": {rd}}
			res := f.do(t, jar, "POST", "https://"+domain+"/auth/signin", strings.NewReader(form.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
			wantStatus(t, res, http.StatusSeeOther)
			wantStatus(t, f.do(t, jar, "GET", wantCodeRedirect(t, res, rd), nil, nil), http.StatusOK)
			f.backend.Drain()
		}
		create("recreated", token)
		resolves(token)
		jar, _ := cookiejar.New(nil)
		signIn(jar, web+"/before")
		wantStatus(t, f.do(t, jar, "GET", web+"/still", nil, nil), http.StatusOK)
		f.backend.Drain()
		old := jarCookie(t, jar, web)

		// Deleted and created again with the same token: a new UID.
		if err := secrets.Delete(ctx, "recreated", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		create("recreated", token)
		// The cache applies events in order: once a Secret created after both
		// is seen, so are the deletion and the new Secret.
		sentinel := randomToken(t)
		create("recreated-sentinel", sentinel)
		resolves(sentinel)
		resolves(token)
		res := f.do(t, nil, "GET", web+"/after", nil, map[string]string{"Cookie": auth.CookieName + "=" + old})
		wantSigninRedirect(t, res, web+"/after")
		f.backend.MustNotSee(t)
		wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, map[string]string{"Cookie": auth.CookieName + "=" + old}), http.StatusUnauthorized)
		f.backend.MustNotSee(t)
		// The token itself still works: signing in again opens the endpoint.
		fresh, _ := cookiejar.New(nil)
		signIn(fresh, web+"/again")
		wantStatus(t, f.do(t, fresh, "GET", web+"/again2", nil, nil), http.StatusOK)
		f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/again2", Method: "GET"})
		for _, n := range []string{"recreated", "recreated-sentinel"} {
			_ = secrets.Delete(ctx, n, metav1.DeleteOptions{})
		}
	})
	t.Run("cookie flow", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		res := f.do(t, jar, "GET", web+"/dashboard?tab=1", nil, map[string]string{"Accept": "text/html"})
		signin := wantSigninRedirect(t, res, web+"/dashboard?tab=1")
		res = f.do(t, jar, "GET", signin.String(), nil, nil)
		wantStatus(t, res, http.StatusOK)
		if page := readAll(t, res); !strings.Contains(page, `value="`+web+`/dashboard?tab=1"`) || !strings.Contains(page, `name="token"`) {
			t.Fatalf("sign-in page without the form or the target:\n%s", page)
		}
		form := url.Values{"token": {f.tokens["member"]}, "rd": {signin.Query().Get("rd")}}
		res = f.do(t, jar, "POST", "https://"+domain+signin.Path, strings.NewReader(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
		wantStatus(t, res, http.StatusSeeOther)
		loc := wantCodeRedirect(t, res, web+"/dashboard?tab=1")
		wantHostOnly(t, res.Header.Get("Set-Cookie"))
		if strings.Contains(res.Header.Get("Set-Cookie"), f.tokens["member"]) || strings.Contains(loc, f.tokens["member"]) {
			t.Fatal("the cookie or the code holds the token")
		}
		// The endpoint redeems the code for its own session.
		res = f.do(t, jar, "GET", loc, nil, nil)
		wantStatus(t, res, http.StatusOK)
		wantHostOnly(t, res.Header.Get("Set-Cookie"))
		f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: strings.TrimPrefix(loc, web), Method: "GET"})
		res = f.do(t, jar, "GET", web+"/dashboard?tab=1", nil, nil)
		wantStatus(t, res, http.StatusOK)
		f.backend.MustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/dashboard?tab=1", Method: "GET"})

		// A cookie altered by hand is refused.
		cookie := jarCookie(t, jar, web)
		forged := []byte(cookie)
		forged[len(forged)-2] ^= 1
		res = f.do(t, nil, "GET", web+"/", nil, map[string]string{"Cookie": auth.CookieName + "=" + string(forged)})
		wantSigninRedirect(t, res, web+"/")

		// Disabling the token ends the session: every request resolves it again.
		sec, err := f.admin.CoreV1().Secrets("tokens").Get(context.Background(), "member", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec.Data[tokens.KeyEnabled] = []byte("false")
		if _, err := f.admin.CoreV1().Secrets("tokens").Update(context.Background(), sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			res = f.do(t, jar, "GET", web+"/dashboard", nil, nil)
			if res.StatusCode == http.StatusFound {
				wantSigninRedirect(t, res, web+"/dashboard")
				break
			}
			wantStatus(t, res, http.StatusOK)
			f.backend.Drain()
			if time.Now().After(deadline) {
				t.Fatal("the session outlived its disabled token by 30s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("signed-in user without access: 403", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		form := url.Values{"token": {f.tokens["outsider"]}, "rd": {web + "/"}}
		res := f.do(t, jar, "POST", "https://"+domain+"/auth/signin", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		wantStatus(t, res, http.StatusSeeOther)
		wantStatus(t, f.do(t, jar, "GET", wantCodeRedirect(t, res, web+"/"), nil, nil), http.StatusForbidden)
		f.backend.MustNotSee(t)
	})
}

// seed creates the namespace, the access of member and of the ci
// ServiceAccount to it, the token Secrets and the auth service's RBAC.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	f.tokens = map[string]string{}
	for _, n := range []string{"member", "outsider", "disabled", "expired", "serviceaccount"} {
		f.tokens[n] = randomToken(t)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{namespace, "tokens"} {
		must(f.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	}
	// Without kube-controller-manager the aggregated "view" role stays
	// empty: a Role with just what the auth service reviews stands in.
	must(f.admin.RbacV1().Roles(namespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "endpoint-user"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}))
	must(f.admin.RbacV1().RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "endpoint-users"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: member},
			{Kind: rbacv1.ServiceAccountKind, Name: "ci", Namespace: namespace},
		},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "endpoint-user"},
	}, metav1.CreateOptions{}))
	must(f.admin.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "ci", Labels: map[string]string{tokens.LabelToken: f.tokens["serviceaccount"], tokens.LabelExternalID: "4242"},
	}}, metav1.CreateOptions{}))
	secret := func(name, user string, data map[string]string) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: tokens.TypeToken,
			StringData: map[string]string{tokens.KeyToken: f.tokens[name], tokens.KeyUserID: user}}
		for k, v := range data {
			s.StringData[k] = v
		}
		must(f.admin.CoreV1().Secrets("tokens").Create(ctx, s, metav1.CreateOptions{}))
	}
	secret("member", member, map[string]string{tokens.KeyTTL: "3600000"})
	secret("outsider", outsider, nil)
	secret("disabled", member, map[string]string{tokens.KeyEnabled: "false"})
	secret("expired", member, map[string]string{tokens.KeyTTL: "1"})

	// The chart's RBAC for the auth service, nothing more.
	seedAuthRBAC(t, f.admin)
}

// startAuth runs `devgate auth` in-process on ln, as the auth service's
// ServiceAccount, and waits until it is ready. authURL points at ln, as the
// chart points it at the auth Service; signinURL keeps its default on the domain.
func startAuth(t *testing.T, admin *rest.Config, ln net.Listener) *config.Config {
	t.Helper()
	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yaml")
	cfgText := fmt.Sprintf("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: %s\nprivateEndpoints:\n  authURL: http://%s/auth/verify\n"+
		// nginx reaches the auth service from 127.0.0.1 and sets X-Real-IP.
		"auth:\n  trustedProxies: [127.0.0.1/32]\n", domain, ln.Addr())
	if err := os.WriteFile(configPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
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
	nginxtest.StartAuth(t, auth.Options{
		ConfigPath: configPath, RestConfig: asAuth, Listener: ln, CookieSecret: secret,
		AccessCacheTTL: time.Second,
		// Every request of this test comes from 127.0.0.1.
		FailureBurst: 10_000,
		Logger:       testr.NewWithOptions(t, testr.Options{Verbosity: 1}),
	}, nil)
	return cfg
}

// do sends a request for any https://*.<domain> URL to nginx, as a browser
// would after DNS, without following redirects.
func (f *fixture) do(t *testing.T, jar http.CookieJar, method, rawURL string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	return f.nginx.Do(t, jar, method, rawURL, body, header)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func wantStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	nginxtest.WantStatus(t, res, want)
}

// wantSigninRedirect checks a 302 to the sign-in page that brings the user
// back to target, and returns the sign-in URL.
func wantSigninRedirect(t *testing.T, res *http.Response, target string) *url.URL {
	t.Helper()
	return nginxtest.WantSigninRedirect(t, res, domain, target)
}

// wantCodeRedirect checks a 303 to target with a sign-in code added, and
// returns its Location.
func wantCodeRedirect(t *testing.T, res *http.Response, target string) string {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(loc, target+sep+auth.CodeParam+"=") || len(loc) < len(target)+len(auth.CodeParam)+40 {
		t.Fatalf("Location = %q, want %s with a %s", loc, target, auth.CodeParam)
	}
	return loc
}

// wantHostOnly checks a session Set-Cookie: host-only (no Domain) and with
// the attributes the sessions need.
func wantHostOnly(t *testing.T, setCookie string) {
	t.Helper()
	for _, attr := range []string{auth.CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Expires="} {
		if !strings.Contains(setCookie, attr) {
			t.Fatalf("Set-Cookie %q lacks %q", setCookie, attr)
		}
	}
	if strings.Contains(strings.ToLower(setCookie), "domain=") {
		t.Fatalf("Set-Cookie %q is not host-only", setCookie)
	}
}

func jarCookie(t *testing.T, jar http.CookieJar, rawURL string) string {
	t.Helper()
	u, _ := url.Parse(rawURL)
	for _, c := range jar.Cookies(u) {
		if c.Name == auth.CookieName {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie for %s", auth.CookieName, rawURL)
	return ""
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	return nginxtest.ReadAll(t, res)
}

func lastLines(s string, n int) string { return nginxtest.LastLines(s, n) }

// seen is what the backend received.
type seen = nginxtest.Seen
