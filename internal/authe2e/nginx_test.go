// Package authe2e proves private endpoints end to end: a real nginx,
// configured the way ingress-nginx renders devgate's auth annotations, in
// front of a test backend, with `devgate auth` resolving tokens and access
// against the local control plane.
package authe2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/policies/tokens"
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

// nginxModules are the dynamic modules behind ingress-nginx's
// set_escape_uri (Debian's libnginx-mod-http-set-misc and its NDK).
var nginxModules = []string{"ndk_http_module.so", "ngx_http_set_misc_module.so"}

// findNginx returns nginx and its modules directory. Outside CI a missing
// nginx skips the test; in CI it fails it: `make nginx` provides it.
func findNginx(t *testing.T) (bin, modules string) {
	t.Helper()
	bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nginx"); err != nil {
			msg := "nginx not found at /usr/sbin/nginx or in $PATH: `make nginx` installs Debian's (as root)"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	modules = "/usr/lib/nginx/modules"
	for _, m := range nginxModules {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			t.Fatalf("nginx module %s missing in %s: `make nginx` installs libnginx-mod-http-set-misc", m, modules)
		}
	}
	return bin, modules
}

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
	backend *backend
	nginx   string // 127.0.0.1:port
	pool    *x509.CertPool
}

func TestPrivateEndpointThroughNginx(t *testing.T) {
	nginxBin, modules := findNginx(t)
	ctrllog.SetLogger(testr.New(t))
	cp, err := controlplane.Start(controlplane.Options{Dir: t.TempDir(), WithoutControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	})
	f := &fixture{admin: kubernetes.NewForConfigOrDie(cp.Config), backend: newBackend(t)}
	f.seed(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := startAuth(t, cp.Config, ln)

	// The Ingress the controller generates for a private Service, and the
	// same with auth-url only, as an API endpoint without sign-in page.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: namespace,
			Annotations: map[string]string{service.AnnotationAutoIngress: "private"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	ing, err := service.DesiredIngress(svc, cfg)
	if err != nil || ing == nil {
		t.Fatalf("DesiredIngress: %v, %v", ing, err)
	}
	api := ing.DeepCopy()
	api.Spec.Rules[0].Host = "api-" + namespace + "." + domain
	delete(api.Annotations, ingress.AnnotationAuthSignin)
	// A second browser endpoint, to replay web's session and codes against.
	docs := ing.DeepCopy()
	docs.Spec.Rules[0].Host = "docs-" + namespace + "." + domain
	f.pool = startNginx(t, nginxBin, modules, f, ln.Addr().String(),
		endpointFromIngress(t, ing.Spec.Rules[0].Host, ing.Annotations),
		endpointFromIngress(t, api.Spec.Rules[0].Host, api.Annotations),
		endpointFromIngress(t, docs.Spec.Rules[0].Host, docs.Annotations))

	web := "https://" + ing.Spec.Rules[0].Host
	apiURL := "https://" + api.Spec.Rules[0].Host
	docsURL := "https://" + docs.Spec.Rules[0].Host

	t.Run("browser without credentials is sent to sign in", func(t *testing.T) {
		res := f.do(t, nil, "GET", web+"/app/page?x=1&y=a%20b", nil, map[string]string{"Accept": "text/html"})
		wantSigninRedirect(t, res, web+"/app/page?x=1&y=a%20b")
		f.backend.mustNotSee(t)
	})
	t.Run("no credentials: 401", func(t *testing.T) {
		res := f.do(t, nil, "GET", apiURL+"/v1/things", nil, nil)
		wantStatus(t, res, http.StatusUnauthorized)
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
		}
		f.backend.mustNotSee(t)
	})
	t.Run("unknown, disabled and expired tokens: 401", func(t *testing.T) {
		for _, tok := range []string{randomToken(t), f.tokens["disabled"], f.tokens["expired"]} {
			wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, bearer(tok)), http.StatusUnauthorized)
			wantSigninRedirect(t, f.do(t, nil, "GET", web+"/", nil, bearer(tok)), web+"/")
		}
		f.backend.mustNotSee(t)
	})
	t.Run("user without access to the namespace: 403", func(t *testing.T) {
		wantStatus(t, f.do(t, nil, "GET", web+"/", nil, bearer(f.tokens["outsider"])), http.StatusForbidden)
		f.backend.mustNotSee(t)
	})
	t.Run("member: 200 with the user headers", func(t *testing.T) {
		h := bearer(f.tokens["member"])
		h["X-Auth-Request-User"] = "admin"
		h["X-Auth-Request-Email"] = "admin@evil.example"
		res := f.do(t, nil, "POST", web+"/app?q=1", strings.NewReader("body"), h)
		wantStatus(t, res, http.StatusOK)
		f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/app?q=1", Method: "POST", Body: "body"})
	})
	t.Run("ServiceAccount token: 200 without email", func(t *testing.T) {
		h := bearer(f.tokens["serviceaccount"])
		h["X-Auth-Request-Email"] = "admin@evil.example"
		wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, h), http.StatusOK)
		f.backend.mustSee(t, seen{User: "system:serviceaccount:" + namespace + ":ci", URI: "/", Method: "GET"})
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
		if got := f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: strings.TrimPrefix(codeURL, web), Method: "GET"}); got.Cookie != "" {
			t.Fatalf("the backend got a cookie with the code: %q", got.Cookie)
		}
		if u, _ := url.Parse(docsURL); len(jar.Cookies(u)) != 0 {
			t.Fatal("web's session is sent to docs")
		}
		res = f.do(t, jar, "GET", web+"/next", nil, nil)
		wantStatus(t, res, http.StatusOK)
		// What web's backend saw: the session of web, nothing else.
		captured := f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/next", Method: "GET"}).Cookie
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
		f.backend.mustNotSee(t)

		// Signed in, the sign-in page hands out a fresh code without the
		// form: here for web, and tried first on docs, which refuses it.
		res = f.do(t, jar, "GET", "https://"+domain+"/auth/signin?rd="+url.QueryEscape(web+"/again"), nil, nil)
		wantStatus(t, res, http.StatusSeeOther)
		fresh := wantCodeRedirect(t, res, web+"/again")
		onDocs := docsURL + strings.TrimPrefix(fresh, web)
		wantSigninRedirect(t, f.do(t, nil, "GET", onDocs, nil, nil), onDocs)
		wantStatus(t, f.do(t, nil, "GET", apiURL+strings.TrimPrefix(fresh, web), nil, nil), http.StatusUnauthorized)
		f.backend.mustNotSee(t)
		// On its own host, once.
		res = f.do(t, nil, "GET", fresh, nil, nil)
		wantStatus(t, res, http.StatusOK)
		wantHostOnly(t, res.Header.Get("Set-Cookie"))
		f.backend.drain()
		wantSigninRedirect(t, f.do(t, nil, "GET", fresh, nil, nil), fresh)
		f.backend.mustNotSee(t)

		// A code for docs gives docs a session of its own.
		res = f.do(t, jar, "GET", "https://"+domain+"/auth/signin?rd="+url.QueryEscape(docsURL+"/"), nil, nil)
		wantStatus(t, res, http.StatusSeeOther)
		wantStatus(t, f.do(t, jar, "GET", wantCodeRedirect(t, res, docsURL+"/"), nil, nil), http.StatusOK)
		f.backend.drain()
		wantStatus(t, f.do(t, jar, "GET", docsURL+"/page", nil, nil), http.StatusOK)
		f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/page", Method: "GET"})
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
			f.backend.drain()
		}
		signIn := func(jar http.CookieJar, rd string) {
			t.Helper()
			form := url.Values{"token": {token}, "rd": {rd}}
			res := f.do(t, jar, "POST", "https://"+domain+"/auth/signin", strings.NewReader(form.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
			wantStatus(t, res, http.StatusSeeOther)
			wantStatus(t, f.do(t, jar, "GET", wantCodeRedirect(t, res, rd), nil, nil), http.StatusOK)
			f.backend.drain()
		}
		create("recreated", token)
		resolves(token)
		jar, _ := cookiejar.New(nil)
		signIn(jar, web+"/before")
		wantStatus(t, f.do(t, jar, "GET", web+"/still", nil, nil), http.StatusOK)
		f.backend.drain()
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
		f.backend.mustNotSee(t)
		wantStatus(t, f.do(t, nil, "GET", apiURL+"/", nil, map[string]string{"Cookie": auth.CookieName + "=" + old}), http.StatusUnauthorized)
		f.backend.mustNotSee(t)
		// The token itself still works: signing in again opens the endpoint.
		fresh, _ := cookiejar.New(nil)
		signIn(fresh, web+"/again")
		wantStatus(t, f.do(t, fresh, "GET", web+"/again2", nil, nil), http.StatusOK)
		f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/again2", Method: "GET"})
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
		f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: strings.TrimPrefix(loc, web), Method: "GET"})
		res = f.do(t, jar, "GET", web+"/dashboard?tab=1", nil, nil)
		wantStatus(t, res, http.StatusOK)
		f.backend.mustSee(t, seen{User: member, Email: member, HasEmail: true, URI: "/dashboard?tab=1", Method: "GET"})

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
			f.backend.drain()
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
		f.backend.mustNotSee(t)
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
	srv, err := auth.New(auth.Options{
		ConfigPath: configPath, RestConfig: asAuth, Listener: ln, CookieSecret: secret,
		AccessCacheTTL: time.Second,
		// Every request of this test comes from 127.0.0.1.
		FailureBurst: 10_000,
		Logger:       testr.NewWithOptions(t, testr.Options{Verbosity: 1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	ready := "http://" + ln.Addr().String() + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(ready)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return cfg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the auth service is not ready after a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endpoint is one Ingress host as ingress-nginx renders it from the external-auth annotations.
type endpoint struct {
	Host, AuthURL, AuthHost, SigninURL string
	ResponseHeaders                    []responseHeader
}

type responseHeader struct {
	Index     int
	Name, Var string
}

// endpointFromIngress translates annotations as ingress-nginx's
// externalauth parser and template functions do.
func endpointFromIngress(t *testing.T, host string, annotations map[string]string) endpoint {
	t.Helper()
	e := endpoint{Host: host, AuthURL: annotations[ingress.AnnotationAuthURL]}
	u, err := url.Parse(e.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	e.AuthHost = u.Hostname()
	// buildAuthSignURL: rd is appended unless the URL has one (devgate's does).
	if signin := annotations[ingress.AnnotationAuthSignin]; signin != "" {
		su, err := url.Parse(signin)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := su.Query()["rd"]; !ok {
			sep := "?"
			if strings.Contains(signin, "?") {
				sep = "&"
			}
			signin += sep + "rd=$pass_access_scheme://$http_host$escaped_request_uri"
		}
		e.SigninURL = signin
	}
	// buildAuthResponseHeaders.
	for i, h := range strings.Split(annotations[ingress.AnnotationAuthResponseHeaders], ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		e.ResponseHeaders = append(e.ResponseHeaders, responseHeader{Index: i, Name: h,
			Var: strings.ToLower(strings.ReplaceAll(h, "-", "_"))})
	}
	return e
}

// nginxConf mirrors what ingress-nginx's nginx.tmpl renders for a location
// with auth-url, auth-signin and auth-response-headers (its Lua balancer
// replaced by a plain proxy_pass), plus the auth service's own Ingress on the
// bare domain and a default server.
var nginxConf = template.Must(template.New("nginx").Parse(`
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log info;
worker_processes 1;
{{range .Modules}}load_module {{.}};
{{end}}
events { worker_connections 128; }
http {
  access_log {{.Dir}}/access.log;
  client_body_temp_path {{.Dir}}/client_body;
  proxy_temp_path {{.Dir}}/proxy;
  fastcgi_temp_path {{.Dir}}/fastcgi;
  uwsgi_temp_path {{.Dir}}/uwsgi;
  scgi_temp_path {{.Dir}}/scgi;
  ssl_certificate {{.Dir}}/tls.crt;
  ssl_certificate_key {{.Dir}}/tls.key;

  server {
    listen {{.Listen}} ssl default_server;
    server_name _;
    return 404;
  }

  # The auth service's Ingress: https://<domain>/auth/ (the chart's).
  server {
    listen {{.Listen}} ssl;
    server_name {{.Domain}};
    location /auth/ {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_http_version 1.1;
      proxy_pass http://{{.Auth}};
    }
  }
{{range $i, $e := .Endpoints}}
  server {
    listen {{$.Listen}} ssl;
    server_name {{$e.Host}};

    location = /_external-auth-Lw-Prefix {
      internal;

      proxy_pass_request_body     off;
      proxy_set_header            Content-Length          "";
      proxy_set_header            X-Forwarded-Proto       "";

      proxy_set_header            Host                    {{$e.AuthHost}};
      proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;
      proxy_set_header            X-Original-Method       $request_method;
      proxy_set_header            X-Sent-From             "nginx-ingress-controller";
      proxy_set_header            X-Real-IP               $remote_addr;
      proxy_set_header            X-Forwarded-For         $remote_addr;
      proxy_set_header            X-Auth-Request-Redirect $request_uri;

      proxy_buffering                         off;
      proxy_buffer_size                       4k;
      proxy_buffers                           4 4k;
      proxy_request_buffering                 on;
      proxy_http_version                      1.1;

      proxy_ssl_server_name       on;
      proxy_pass_request_headers  on;
      client_max_body_size        1m;

      set $target {{$e.AuthURL}};
      proxy_pass $target;
    }
{{if $e.SigninURL}}
    location @signin-{{$i}} {
      internal;

      add_header Set-Cookie $auth_cookie;

      return 302 {{$e.SigninURL}};
    }
{{end}}
    location / {
      set $pass_access_scheme  $scheme;
      set $best_http_host      $http_host;
      port_in_redirect off;

      # this location requires authentication
      auth_request        /_external-auth-Lw-Prefix;
      auth_request_set    $auth_cookie $upstream_http_set_cookie;
      add_header          Set-Cookie $auth_cookie;
{{range $e.ResponseHeaders}}      auth_request_set $authHeader{{.Index}} $upstream_http_{{.Var}};
      proxy_set_header '{{.Name}}' $authHeader{{.Index}};
{{end}}
{{if $e.SigninURL}}      set_escape_uri $escaped_request_uri $request_uri;
      error_page 401 = @signin-{{$i}};
{{end}}
      proxy_set_header Host              $best_http_host;
      proxy_set_header X-Real-IP         $remote_addr;
      proxy_set_header X-Forwarded-For   $remote_addr;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
      proxy_http_version 1.1;
      proxy_pass http://{{$.Backend}};
    }
  }
{{end}}
}
`))

// startNginx writes a certificate for the domain and its subdomains and the
// configuration, starts nginx on a free loopback port, and stops it (and its
// workers) when the test ends. It returns the pool that trusts the certificate.
func startNginx(t *testing.T, bin, modulesDir string, f *fixture, authAddr string, endpoints ...endpoint) *x509.CertPool {
	t.Helper()
	dir := t.TempDir()
	pool := writeCertificate(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.nginx = ln.Addr().String()
	ln.Close()
	var modules []string
	for _, m := range nginxModules {
		modules = append(modules, filepath.Join(modulesDir, m))
	}
	var conf bytes.Buffer
	if err := nginxConf.Execute(&conf, map[string]any{
		"Dir": dir, "Listen": f.nginx, "Domain": domain, "Auth": authAddr,
		"Backend": f.backend.addr, "Endpoints": endpoints, "Modules": modules,
	}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so stopping it reaches the workers too, and
	// killed with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", lastLines(string(logs), 40))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s\nconfiguration:\n%s", err, out.String(), lastLines(string(logs), 20), conf.String())
		default:
		}
		if c, err := net.Dial("tcp", f.nginx); err == nil {
			c.Close()
			return pool
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx does not listen after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeCertificate(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: domain},
		DNSNames:     []string{domain, "*." + domain},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// do sends a request for any https://*.<domain> URL to nginx, as a browser
// would after DNS, without following redirects.
func (f *fixture) do(t *testing.T, jar http.CookieJar, method, rawURL string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", f.nginx)
			},
			TLSClientConfig: &tls.Config{RootCAs: f.pool, MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func wantStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", res.Request.Method, res.Request.URL, res.StatusCode, want, lastLines(readAll(t, res), 5))
	}
}

// wantSigninRedirect checks a 302 to the sign-in page that brings the user
// back to target, and returns the sign-in URL.
func wantSigninRedirect(t *testing.T, res *http.Response, target string) *url.URL {
	t.Helper()
	wantStatus(t, res, http.StatusFound)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Scheme != "https" || loc.Host != domain || loc.Path != "/auth/signin" || loc.Query().Get("rd") != target {
		t.Fatalf("Location = %s, want https://%s/auth/signin with rd=%s", loc, domain, target)
	}
	return loc
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
	b, err := io.ReadAll(res.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// seen is what the backend received.
type seen struct {
	User, Email string
	HasEmail    bool
	URI, Method string
	Body        string
	// Cookie is the Cookie header the backend got; mustSee compares it only
	// when the wanted one sets it.
	Cookie string
}

// backend is the private endpoint's application: it records each request.
type backend struct {
	addr string
	got  chan seen
	hits atomic.Int64
}

func newBackend(t *testing.T) *backend {
	b := &backend{got: make(chan seen, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, hasEmail := r.Header[http.CanonicalHeaderKey(auth.HeaderEmail)]
		s := seen{User: r.Header.Get(auth.HeaderUser), Email: r.Header.Get(auth.HeaderEmail), HasEmail: hasEmail,
			URI: r.URL.RequestURI(), Method: r.Method, Body: string(body), Cookie: r.Header.Get("Cookie")}
		b.hits.Add(1)
		b.got <- s
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(srv.Close)
	b.addr = srv.Listener.Addr().String()
	return b
}

func (b *backend) mustSee(t *testing.T, want seen) seen {
	t.Helper()
	select {
	case got := <-b.got:
		cmp := got
		if want.Cookie == "" {
			cmp.Cookie = ""
		}
		if cmp != want {
			t.Fatalf("backend saw %+v, want %+v", got, want)
		}
		return got
	default:
		t.Fatal("the request did not reach the backend")
	}
	return seen{}
}

func (b *backend) mustNotSee(t *testing.T) {
	t.Helper()
	select {
	case got := <-b.got:
		t.Fatalf("a refused request reached the backend: %+v", got)
	default:
	}
}

func (b *backend) drain() {
	for {
		select {
		case <-b.got:
		default:
			return
		}
	}
}
