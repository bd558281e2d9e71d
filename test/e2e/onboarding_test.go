package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/config"
	ingresspolicy "devgate.dev/devgate/policies/ingress"
	servicepolicy "devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/chartrender"
	"devgate.dev/devgate/test/nginxtest"
)

// The onboarding feature's namespaces and user: carol is invited to
// onboardNS; elsewhereNS is another tenant's, with an endpoint of its own.
const (
	onboardNS   = "e2e-onboard"
	elsewhereNS = "e2e-elsewhere"
	newUser     = "carol"
)

var (
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	welcomeRE = regexp.MustCompile(`<code class="token">([A-Za-z0-9]+)</code>`)
)

// onboarding runs `devgate auth` in-process as the chart's auth
// ServiceAccount, with the configuration the chart renders, behind a real
// nginx configured as ingress-nginx renders the private Ingresses devgate
// generates; then an invited user joins and signs in as a browser does. Every
// call of the auth service (the admin's bootstrap, the acceptance's
// ServiceAccount and RoleBinding, the bind on devgate-member, the access
// reviews) runs with the chart's RBAC only.
func onboarding() features.Feature {
	var (
		proxy                      *nginxtest.Nginx
		backend                    *nginxtest.Backend
		cfg                        *config.Config
		web, elsewhere, link, tok  string
		authIdentity, usersNSOfCfg string
	)
	base := "https://" + domain + "/auth"
	return features.New("an invited user joins through nginx and signs in with the new token").
		Setup(func(ctx context.Context, t *testing.T, c *envconf.Config) context.Context {
			nginxBin, modules := nginxtest.Find(t)
			for _, ns := range []string{onboardNS, elsewhereNS} {
				mustKubectl(t, "", "create", "namespace", ns)
			}
			// A private endpoint in each namespace: devgate's controller
			// generates their Ingresses with the external-auth annotations.
			var endpoints []nginxtest.Endpoint
			for _, ns := range []string{onboardNS, elsewhereNS} {
				mustKubectl(t, privateService("web", ns), "apply", "-f", "-")
				ing := waitForPrivateIngress(ctx, t, c, ns, "web")
				e := nginxtest.EndpointFromIngress(t, ing.Spec.Rules[0].Host, ing.Annotations)
				endpoints = append(endpoints, e)
			}
			web, elsewhere = "https://"+endpoints[0].Host, "https://"+endpoints[1].Host

			var err error
			if cfg, err = config.Load(s.configPath); err != nil {
				t.Fatal(err)
			}
			usersNSOfCfg = cfg.Auth.UsersNamespace
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			authAddr := ln.Addr().String()
			// The chart's auth-url is https://<domain>/auth/verify, which in a
			// cluster resolves to the ingress controller and so reaches the
			// auth Service; nginx here has no DNS for the domain, so its
			// subrequest goes to the auth service's address, with the same
			// path, query and Host header.
			for i := range endpoints {
				u, err := url.Parse(endpoints[i].AuthURL)
				if err != nil || u.Host != domain || u.Path != "/auth/verify" {
					t.Fatalf("auth-url %q, want https://%s/auth/verify", endpoints[i].AuthURL, domain)
				}
				u.Scheme, u.Host = "http", authAddr
				endpoints[i].AuthURL = u.String()
			}

			authIdentity = "system:serviceaccount:" + releaseNS + ":" + chartAuthServiceAccount(ctx, t)
			asAuth := rest.CopyConfig(s.env.ControlPlane.Config)
			asAuth.Impersonate = rest.ImpersonationConfig{
				UserName: authIdentity,
				Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"},
			}
			// `devgate auth --config=<the ConfigMap's file> --namespace=<release
			// namespace> --cookie-secret-file=<the chart's Secret>`, on loopback.
			nginxtest.StartAuth(t, auth.Options{
				ConfigPath: s.configPath, RestConfig: asAuth, Listener: ln,
				CookieSecret:   bytes.TrimSpace([]byte(cookieSecret(ctx, t))),
				AccessCacheTTL: auth.DefaultAccessCacheTTL, ConfigPollInterval: 200 * time.Millisecond,
				Namespace: releaseNS,
				Logger:    testr.NewWithOptions(t, testr.Options{Verbosity: 1}),
			}, nil)

			backend = nginxtest.NewBackend(t)
			proxy = nginxtest.Start(t, nginxtest.Options{
				Bin: nginxBin, ModulesDir: modules, Domain: domain, Auth: authAddr, Backend: backend.Addr,
				Endpoints: endpoints,
			})
			return ctx
		}).
		Assess("the chart's configuration sends users and links to the release namespace and https://<domain>/auth", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if usersNSOfCfg != releaseNS {
				t.Errorf("auth.usersNamespace = %q, want the release namespace %q", usersNSOfCfg, releaseNS)
			}
			if got := cfg.AuthPublicURL(); got != base {
				t.Errorf("the auth service's public URL is %q, want nginx's front %s", got, base)
			}
			return ctx
		}).
		Assess("the admin's token, read with the documented kubectl line, lists invitations through nginx", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			admin := adminToken(t)
			// Nobody is invited yet; only an admin may look.
			res := proxy.Do(t, nil, "GET", base+"/invitations", nil, map[string]string{"Authorization": "Bearer " + admin, "Accept": "application/json"})
			wantCode(t, res, http.StatusOK)
			res = proxy.Do(t, nil, "GET", base+"/invitations", nil, map[string]string{"Authorization": "Bearer " + randomish(admin), "Accept": "application/json"})
			wantCode(t, res, http.StatusUnauthorized)
			return ctx
		}).
		Assess("devgate invite makes carol's link, which the admin sees pending", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			var stdout, stderr bytes.Buffer
			code := auth.RunInvite(ctx, s.clientset, auth.InviteOptions{
				User: newUser, Namespaces: []string{onboardNS}, Config: cfg, DefaultUsersNamespace: releaseNS,
			}, &stdout, &stderr)
			link = strings.TrimSpace(stdout.String())
			if code != 0 || !regexp.MustCompile(`^`+regexp.QuoteMeta(base)+`/invite/[A-Za-z0-9_-]{43}$`).MatchString(link) {
				t.Fatalf("devgate invite %s --namespace %s: exit %d, stdout %q, stderr %q", newUser, onboardNS, code, stdout.String(), stderr.String())
			}
			res := proxy.Do(t, nil, "GET", base+"/invitations", nil, map[string]string{"Authorization": "Bearer " + adminToken(t), "Accept": "application/json"})
			wantCode(t, res, http.StatusOK)
			if body := nginxtest.ReadAll(t, res); !strings.Contains(body, link) || !strings.Contains(body, `"namespaces":"`+onboardNS+`"`) {
				t.Errorf("the admin's list lacks carol's link:\n%s", body)
			}
			return ctx
		}).
		Assess("the browser opens the link, joins, and is shown its token once", func(ctx context.Context, t *testing.T, c *envconf.Config) context.Context {
			// The auth service's cache sees the invitation a moment after it
			// is created: until then the link is unknown.
			var page string
			eventually(t, 20*time.Second, func() error {
				res := proxy.Do(t, nil, "GET", link, nil, map[string]string{"Accept": "text/html"})
				page = nginxtest.ReadAll(t, res)
				if res.StatusCode != http.StatusOK {
					return fmt.Errorf("GET %s: %d", link, res.StatusCode)
				}
				return nil
			})
			m := csrfRE.FindStringSubmatch(page)
			if !strings.Contains(page, "Join as "+newUser) || m == nil {
				t.Fatalf("the invitation page lacks %q or its form:\n%s", "Join as "+newUser, page)
			}
			res := proxy.Do(t, nil, "POST", link, strings.NewReader(url.Values{"csrf": {m[1]}}.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain, "Accept": "text/html"})
			wantCode(t, res, http.StatusOK)
			welcome := nginxtest.ReadAll(t, res)
			w := welcomeRE.FindStringSubmatch(welcome)
			if w == nil || !strings.Contains(welcome, "Welcome, "+newUser) {
				t.Fatalf("the welcome page shows no token:\n%s", welcome)
			}
			tok = w[1]
			// What the acceptance made, as the chart's auth ServiceAccount.
			var sa corev1.ServiceAccount
			if err := c.Client().Resources().Get(ctx, newUser, releaseNS, &sa); err != nil {
				t.Fatal(err)
			}
			if sa.Labels[tokens.LabelToken] != tok || sa.Labels[tokens.LabelExternalID] != newUser {
				t.Errorf("ServiceAccount %s/%s labels %v, want the welcome page's token and external-id %s", releaseNS, newUser, sa.Labels, newUser)
			}
			var rb rbacv1.RoleBinding
			if err := c.Client().Resources().Get(ctx, "devgate-member-"+newUser, onboardNS, &rb); err != nil {
				t.Fatal(err)
			}
			if rb.RoleRef.Name != "devgate-member" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != newUser || rb.Subjects[0].Namespace != releaseNS {
				t.Errorf("RoleBinding %s/devgate-member-%s: %+v", onboardNS, newUser, rb)
			}
			// The link is spent.
			again := proxy.Do(t, nil, "POST", link, strings.NewReader(url.Values{"csrf": {m[1]}}.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
			wantCode(t, again, http.StatusGone)
			return ctx
		}).
		Assess("the browser signs in on the private endpoint with the new token", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			jar, _ := cookiejar.New(nil)
			target := web + "/dashboard?tab=1"
			res := proxy.Do(t, jar, "GET", target, nil, map[string]string{"Accept": "text/html"})
			signin := wantSignin(t, res, target)
			backend.MustNotSee(t)
			res = proxy.Do(t, jar, "GET", signin.String(), nil, map[string]string{"Accept": "text/html"})
			wantCode(t, res, http.StatusOK)
			if page := nginxtest.ReadAll(t, res); !strings.Contains(page, `name="token"`) {
				t.Fatalf("the sign-in page has no token form:\n%s", page)
			}
			form := url.Values{"token": {tok}, "rd": {signin.Query().Get("rd")}}
			res = proxy.Do(t, jar, "POST", "https://"+domain+signin.Path, strings.NewReader(form.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
			wantCode(t, res, http.StatusSeeOther)
			loc := res.Header.Get("Location")
			if !strings.HasPrefix(loc, target+"&"+auth.CodeParam+"=") {
				t.Fatalf("after signing in: Location %q, want %s with a %s", loc, target, auth.CodeParam)
			}
			// The endpoint redeems the code, and the backend sees carol.
			who := "system:serviceaccount:" + releaseNS + ":" + newUser
			res = proxy.Do(t, jar, "GET", loc, nil, nil)
			wantCode(t, res, http.StatusOK)
			backend.MustSee(t, nginxtest.Seen{User: who, URI: strings.TrimPrefix(loc, web), Method: "GET"})
			// The endpoint's own session opens it from then on.
			res = proxy.Do(t, jar, "GET", target, nil, nil)
			wantCode(t, res, http.StatusOK)
			backend.MustSee(t, nginxtest.Seen{User: who, URI: "/dashboard?tab=1", Method: "GET"})
			return ctx
		}).
		Assess("the same token is refused another namespace's endpoint: 403", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			res := proxy.Do(t, nil, "GET", elsewhere+"/", nil, map[string]string{"Authorization": "Bearer " + tok})
			wantCode(t, res, http.StatusForbidden)
			// Through the sign-in page, as the browser would.
			jar, _ := cookiejar.New(nil)
			form := url.Values{"token": {tok}, "rd": {elsewhere + "/"}}
			res = proxy.Do(t, jar, "POST", base+"/signin", strings.NewReader(form.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://" + domain})
			wantCode(t, res, http.StatusSeeOther)
			wantCode(t, proxy.Do(t, jar, "GET", res.Header.Get("Location"), nil, nil), http.StatusForbidden)
			backend.MustNotSee(t)
			// While the namespace it was invited to still opens with it.
			wantCode(t, proxy.Do(t, nil, "GET", web+"/", nil, map[string]string{"Authorization": "Bearer " + tok}), http.StatusOK)
			backend.MustSee(t, nginxtest.Seen{User: "system:serviceaccount:" + releaseNS + ":" + newUser, URI: "/", Method: "GET"})
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			for _, ns := range []string{onboardNS, elsewhereNS} {
				kubectl(t, "", "delete", "namespace", ns, "--wait=false")
			}
			kubectl(t, "", "-n", releaseNS, "delete", "serviceaccount", newUser, "--ignore-not-found")
			return ctx
		}).Feature()
}

// chartAuthServiceAccount is the name of the auth service's ServiceAccount
// in the chart the suite installed.
func chartAuthServiceAccount(ctx context.Context, t *testing.T) string {
	t.Helper()
	out, err := chartrender.Template(ctx, release, releaseNS, "--values", s.dir+"/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := chartrender.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	var deploy appsv1.Deployment
	d := chartrender.Find(objs, "Deployment", release+"-auth")
	if d == nil {
		t.Fatalf("the chart renders no Deployment %s-auth", release)
	}
	if err := chartrender.Convert(d, &deploy); err != nil {
		t.Fatal(err)
	}
	name := deploy.Spec.Template.Spec.ServiceAccountName
	if name == "" || chartrender.Find(objs, "ServiceAccount", name) == nil {
		t.Fatalf("the auth Deployment runs as ServiceAccount %q, which the chart does not render", name)
	}
	return name
}

// adminToken reads the admin's token with the kubectl line the auth service
// logs and the documentation gives (the shell's quotes taken off).
func adminToken(t *testing.T) string {
	t.Helper()
	args := strings.Fields(auth.TokenCommand(releaseNS, "admin"))
	if len(args) == 0 || args[0] != "kubectl" {
		t.Fatalf("the documented line is not a kubectl command: %q", auth.TokenCommand(releaseNS, "admin"))
	}
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "'", "")
	}
	var tok string
	eventually(t, 30*time.Second, func() error {
		out, errOut, ok := kubectl(t, "", args[1:]...)
		if !ok {
			return fmt.Errorf("%s: %s", auth.TokenCommand(releaseNS, "admin"), errOut)
		}
		tok = out
		if !regexp.MustCompile(`^[A-Za-z0-9]{40}$`).MatchString(tok) {
			return fmt.Errorf("%s printed %q, want a 40-character token", auth.TokenCommand(releaseNS, "admin"), tok)
		}
		return nil
	})
	return tok
}

// randomish is another token of the same shape as tok.
func randomish(tok string) string {
	b := []byte(tok)
	if b[0] == 'a' {
		b[0] = 'b'
	} else {
		b[0] = 'a'
	}
	return string(b)
}

func privateService(name, namespace string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations: {%s: private}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, namespace, servicepolicy.AnnotationAutoIngress)
}

// waitForPrivateIngress waits for the Ingress devgate's controller generates
// for a private Service, with its external-auth annotations.
func waitForPrivateIngress(ctx context.Context, t *testing.T, cfg *envconf.Config, namespace, name string) *networkingv1.Ingress {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	err := wait.For(conditions.New(cfg.Client().Resources()).ResourceMatch(ing, func(o k8s.Object) bool {
		i := o.(*networkingv1.Ingress)
		return len(i.Spec.Rules) == 1 && i.Spec.Rules[0].Host == name+"-"+namespace+"."+domain &&
			i.Annotations[ingresspolicy.AnnotationAuthURL] != "" && i.Annotations[ingresspolicy.AnnotationAuthSignin] != ""
	}), wait.WithTimeout(30*time.Second), wait.WithInterval(200*time.Millisecond), wait.WithContext(ctx))
	if err != nil {
		t.Fatalf("the controller made no private Ingress %s/%s: %v", namespace, name, err)
	}
	return ing
}

func wantCode(t *testing.T, res *http.Response, want int) {
	t.Helper()
	nginxtest.WantStatus(t, res, want)
}

// wantSignin checks nginx's 302 to the sign-in page, back to target.
func wantSignin(t *testing.T, res *http.Response, target string) *url.URL {
	t.Helper()
	return nginxtest.WantSigninRedirect(t, res, domain, target)
}
