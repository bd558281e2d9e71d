package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/dextest"
	"devgate.dev/devgate/test/nginxtest"
)

// The private endpoint of these benchmarks: Service web in verifyNamespace,
// whose member signs in through Dex.
const (
	verifyDomain    = "okteto.example.com"
	verifyNamespace = "team-a"
	verifyMember    = "alice@example.com"
	// The bcrypt hash (cost 10) of verifyPassword, a password that opens
	// nothing but this benchmark's Dex.
	verifyPassword = "pw-Alice-2026-devgate"
	verifyHash     = "$2a$10$PjlLt9H4wW.yinbkShnzleOyWJnTqSnWBlnOHWFG/v8vW.r7NYRUq"

	devgateClientID = "devgate"
	o2pClientID     = "oauth2-proxy"
)

var verifyConcurrency = []int{1, 8, 64}

// findOAuth2Proxy returns the oauth2-proxy binary hack/bench-peers.sh
// builds: $DEVGATE_OAUTH2_PROXY, else the newest bin/oauth2-proxy-*/oauth2-proxy
// above the working directory.
func findOAuth2Proxy() (string, error) {
	return dextest.LookupTool("DEVGATE_OAUTH2_PROXY", "oauth2-proxy", "`make bench-peers` builds it")
}

// freeAddr is a loopback address nothing listens on, for a process that
// opens its own listener.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// authEnv is `devgate auth` in this process against a local control plane,
// with an OIDC connector for Dex, and the private endpoint's Ingress.
type authEnv struct {
	dex      *dextest.Server
	authAddr string
	web      string // https://<host> of the private endpoint
	ingress  map[string]string
	host     string
}

// startAuthEnv starts Dex with devgate's client and extra, the control
// plane, and `devgate auth` with its access cache at the production default.
func startAuthEnv(b *testing.B, extra ...dextest.Client) *authEnv {
	b.Helper()
	dexBin, err := dextest.Lookup()
	if err != nil {
		b.Skip(err)
	}
	if _, err := controlplane.FindAssets(); err != nil {
		b.Skipf("control plane: %v (`make tools` builds it)", err)
	}
	clients := append([]dextest.Client{{ID: devgateClientID, Secret: randomHex(b), Name: "devgate",
		RedirectURIs: []string{"https://" + verifyDomain + "/auth/callback"}}}, extra...)
	users := []dextest.User{{Email: verifyMember, Hash: verifyHash, Username: "alice", UserID: "08a8684b-db88-4b73-90a9-3cd1661f5466"}}
	e := &authEnv{dex: dextest.Start(b, dexBin, clients, users)}

	cp, err := controlplane.Start(controlplane.Options{Dir: b.TempDir(), WithoutControllerManager: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cp.Stop() })
	admin := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	must := func(_ any, err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, ns := range []string{verifyNamespace, auth.DefaultNamespace} {
		must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	}
	// Without kube-controller-manager the aggregated "view" role stays
	// empty: a Role with what the auth service reviews stands in.
	must(admin.RbacV1().Roles(verifyNamespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "endpoint-user"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}))
	must(admin.RbacV1().RoleBindings(verifyNamespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "endpoint-users"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: verifyMember}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "endpoint-user"},
	}, metav1.CreateOptions{}))
	must(admin.CoreV1().Secrets(auth.DefaultNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "dex", Namespace: auth.DefaultNamespace},
		Type:       tokens.TypeOIDCConnector,
		StringData: map[string]string{
			tokens.KeyIssuer: e.dex.Issuer, tokens.KeyClientID: devgateClientID, tokens.KeyClientSecret: clients[0].Secret,
			tokens.KeyRedirectURI: clients[0].RedirectURIs[0], "name": "Dex",
		},
	}, metav1.CreateOptions{}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e.authAddr = ln.Addr().String()
	configPath := filepath.Join(b.TempDir(), "config.yaml")
	cfgText := fmt.Sprintf("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: %s\nprivateEndpoints:\n  authURL: http://%s/auth/verify\n"+
		"auth:\n  trustedProxies: [127.0.0.1/32]\n", verifyDomain, e.authAddr)
	if err := os.WriteFile(configPath, []byte(cfgText), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		b.Fatal(err)
	}
	nginxtest.StartAuth(b, auth.Options{
		ConfigPath: configPath, RestConfig: cp.Config, Listener: ln, CookieSecret: secret,
		// As `devgate auth` runs by default: an access decision is reused
		// for 10 s, so the hot path is the session and the cache.
		AccessCacheTTL: auth.DefaultAccessCacheTTL,
		Logger:         logr.Discard(),
	}, nil)

	ing := nginxtest.PrivateIngress(b, cfg, verifyNamespace)
	e.host = ing.Spec.Rules[0].Host
	e.web = "https://" + e.host
	e.ingress = ing.Annotations
	return e
}

func randomHex(b *testing.B) string {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(buf)
}

var connectorLink = regexp.MustCompile(`<a class="connector" href="([^"]+)">Sign in with Dex</a>`)

// signIn drives devgate's sign-in through Dex's password form with browser
// (which must reach https://<domain>/auth/ and Dex, and follow no
// redirects), and returns the Location that carries the endpoint's sign-in
// code back to target.
func (e *authEnv) signIn(b *testing.B, browser *http.Client, target string) string {
	b.Helper()
	signin, _ := url.Parse("https://" + verifyDomain + "/auth/signin?rd=" + url.QueryEscape(target))
	res := dextest.Get(b, browser, signin.String(), nil)
	page := dextest.ReadAll(b, res)
	m := connectorLink.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		b.Fatalf("sign-in page %d without the Dex button:\n%s", res.StatusCode, page)
	}
	start, _ := signin.Parse(html.UnescapeString(m[1]))
	res = dextest.Get(b, browser, start.String(), nil)
	if res.StatusCode != http.StatusFound {
		b.Fatalf("start: %d\n%s", res.StatusCode, dextest.ReadAll(b, res))
	}
	back := e.dex.Login(b, browser, res.Header.Get("Location"), verifyMember, verifyPassword)
	res = dextest.Get(b, browser, back.String(), nil)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, auth.CodeParam+"=") {
		b.Fatalf("callback: %d to %q\n%s", res.StatusCode, loc, dextest.ReadAll(b, res))
	}
	return loc
}

// frontDoor is what ingress-nginx's Ingress for the auth service does for
// https://<domain>/auth/: requests for that host go to the auth service in
// plain HTTP with the proxy headers; other hosts (Dex) are sent as they are.
// The cookie jar sees the https URLs, so the Secure cookies come back.
type frontDoor struct{ auth string }

func (f frontDoor) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() != verifyDomain {
		return http.DefaultTransport.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Host = verifyDomain
	r.URL.Scheme, r.URL.Host = "http", f.auth
	r.Header.Set("X-Real-IP", "127.0.0.1")
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	r.Header.Set("X-Forwarded-Proto", "https")
	return http.DefaultTransport.RoundTrip(r)
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// verifyRequest is the subrequest ingress-nginx sends for a GET of
// originalURL on a private endpoint (its auth location's headers).
func verifyRequest(authURL, originalURL string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(originalURL)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Original-URL", originalURL)
	req.Header.Set("X-Original-Method", http.MethodGet)
	req.Header.Set("X-Sent-From", "nginx-ingress-controller")
	req.Header.Set("X-Real-IP", "127.0.0.1")
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	req.Header.Set("X-Auth-Request-Redirect", u.RequestURI())
	return req, nil
}

// endpointSession redeems the sign-in code at codeURL the way the endpoint's
// first request does (through /verify) and returns the endpoint's session
// cookie, as the browser sends it from then on.
func (e *authEnv) endpointSession(b *testing.B, codeURL string) string {
	b.Helper()
	req, err := verifyRequest("http://"+e.authAddr+"/auth/verify?namespace="+verifyNamespace, codeURL)
	if err != nil {
		b.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get(auth.HeaderUser) != verifyMember {
		b.Fatalf("redeeming the code: %d, user %q", res.StatusCode, res.Header.Get(auth.HeaderUser))
	}
	for _, c := range res.Cookies() {
		if c.Name == auth.CookieName && c.Value != "" {
			return (&http.Cookie{Name: c.Name, Value: c.Value}).String()
		}
	}
	b.Fatal("redeeming the code set no endpoint session")
	return ""
}

// oauth2Proxy is oauth2-proxy on loopback, a separate process.
type oauth2Proxy struct {
	base string
	proc *dextest.Process
}

// startOAuth2Proxy runs oauth2-proxy at addr against Dex's issuer with the
// client o2pClientID: a cookie session, answering /oauth2/auth for
// ingress-nginx's auth-url as its documentation sets it up.
func startOAuth2Proxy(b *testing.B, bin, addr, issuer, clientSecret string) *oauth2Proxy {
	b.Helper()
	p := &oauth2Proxy{base: "http://" + addr}
	p.proc = dextest.StartProcess(b, exec.Command(bin,
		"--provider=oidc",
		"--oidc-issuer-url="+issuer,
		"--client-id="+o2pClientID,
		"--client-secret="+clientSecret,
		"--redirect-url="+p.base+"/oauth2/callback",
		"--http-address="+addr,
		"--upstream=static://200",
		"--reverse-proxy",
		"--cookie-secret="+randomHex(b),
		"--cookie-secure=false",
		"--email-domain=*",
		// Its default (force) makes Dex ask for consent at every sign-in.
		"--approval-prompt=auto",
		// The user headers, as devgate answers them.
		"--set-xauthrequest",
		// devgate logs no successful /verify: neither does this side.
		"--request-logging=false",
	))
	p.proc.WaitReady(b, "oauth2-proxy", p.base+"/ping")
	return p
}

// session signs in at oauth2-proxy through Dex's password form and returns
// its session cookies as the browser sends them.
func (p *oauth2Proxy) session(b *testing.B, dex *dextest.Server) string {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: noRedirects}
	res := dextest.Get(b, browser, p.base+"/oauth2/start?rd=%2F", nil)
	if res.StatusCode != http.StatusFound {
		b.Fatalf("oauth2-proxy start: %d\n%s", res.StatusCode, dextest.ReadAll(b, res))
	}
	back := dex.Login(b, browser, res.Header.Get("Location"), verifyMember, verifyPassword)
	res = dextest.Get(b, browser, back.String(), nil)
	if res.StatusCode != http.StatusFound {
		b.Fatalf("oauth2-proxy callback: %d\n%s", res.StatusCode, dextest.ReadAll(b, res))
	}
	u, _ := url.Parse(p.base + "/")
	var cookies []string
	for _, c := range jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "_oauth2_proxy") && !strings.HasSuffix(c.Name, "_csrf") {
			cookies = append(cookies, c.String())
		}
	}
	if len(cookies) == 0 {
		b.Fatalf("oauth2-proxy set no session cookie:\n%s", p.proc.Logs.String())
	}
	return strings.Join(cookies, "; ")
}

// probe is one side of a comparison: a request and what its answer must be.
type probe struct {
	new    func() (*http.Request, error)
	status int
	// header must be value in the answer, unless empty: the answer names
	// the signed-in user.
	header, value string
}

func (p probe) do(client *http.Client) error {
	req, err := p.new()
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != p.status {
		return fmt.Errorf("%s: status %d, want %d", req.URL, res.StatusCode, p.status)
	}
	if p.header != "" && res.Header.Get(p.header) != p.value {
		return fmt.Errorf("%s: %s %q, want %q", req.URL, p.header, res.Header.Get(p.header), p.value)
	}
	return nil
}

// alternate runs b.N requests of each probe at concurrency c in ten
// rounds, rotating which goes first, so drifting machine load falls on all
// alike, after a warm-up of each (connections, caches, first-use
// allocations). It fails the benchmark on any wrong answer.
func alternate(b *testing.B, client *http.Client, c int, names []string, probes []probe) []Result {
	b.Helper()
	for i, p := range probes {
		if r := closedLoop(max(200, 4*c), c, func(int) error { return p.do(client) }); r.Errors > 0 {
			b.Fatalf("warm-up of %s: %d errors, first: %v", names[i], r.Errors, r.FirstErr)
		}
	}
	b.ResetTimer()
	res := alternateRounds(b.N, len(probes), func(i, n int) Result {
		return closedLoop(n, c, func(int) error { return probes[i].do(client) })
	})
	b.StopTimer()
	for i, r := range res {
		if r.Errors > 0 {
			b.Fatalf("%s: %d of %d requests failed, first: %v", names[i], r.Errors, r.Requests, r.FirstErr)
		}
	}
	return res
}

// loopbackClient keeps a connection per worker to each server.
func loopbackClient(conns int) *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: noRedirects,
		Transport: &http.Transport{
			// No overall limit: switching hosts must not close the
			// other host's idle connections.
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
}

// BenchmarkVerifyVsOAuth2Proxy compares the per-request cost of a private
// endpoint: devgate's /auth/verify with the endpoint's session, as
// ingress-nginx's auth subrequest sends it, against oauth2-proxy's
// /oauth2/auth with its cookie session. Both signed in through the same Dex
// with the same user; devgate's access decision comes from its cache after
// the first request, as in production. Each iteration is one request to
// each side; they alternate in ten rounds, so the ratios come from this one
// run. ns/op is meaningless here and left out; read the reported metrics.
func BenchmarkVerifyVsOAuth2Proxy(b *testing.B) {
	o2pBin, err := findOAuth2Proxy()
	if err != nil {
		b.Skip(err)
	}
	o2pAddr := freeAddr(b)
	o2pSecret := randomHex(b)
	e := startAuthEnv(b, dextest.Client{ID: o2pClientID, Secret: o2pSecret, Name: "oauth2-proxy",
		RedirectURIs: []string{"http://" + o2pAddr + "/oauth2/callback"}})
	o2p := startOAuth2Proxy(b, o2pBin, o2pAddr, e.dex.Issuer, o2pSecret)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second, Transport: frontDoor{e.authAddr}, CheckRedirect: noRedirects}
	devSession := e.endpointSession(b, e.signIn(b, browser, e.web+"/"))
	o2pSession := o2p.session(b, e.dex)

	verifyURL := "http://" + e.authAddr + "/auth/verify?namespace=" + verifyNamespace
	page := e.web + "/app/page?tab=1"
	dev := probe{status: http.StatusOK, header: auth.HeaderUser, value: verifyMember, new: func() (*http.Request, error) {
		req, err := verifyRequest(verifyURL, page)
		if err == nil {
			req.Header.Set("Cookie", devSession)
		}
		return req, err
	}}
	// oauth2-proxy names the user by the ID token's subject, and its email.
	peer := probe{status: http.StatusAccepted, header: auth.HeaderEmail, value: verifyMember, new: func() (*http.Request, error) {
		req, err := verifyRequest(o2p.base+"/oauth2/auth", page)
		if err == nil {
			req.Header.Set("Cookie", o2pSession)
		}
		return req, err
	}}
	for _, c := range verifyConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			client := loopbackClient(c)
			defer client.CloseIdleConnections()
			r := alternate(b, client, c, []string{"devgate", "oauth2-proxy"}, []probe{dev, peer})
			report(b, "devgate", &r[0])
			report(b, "oauth2proxy", &r[1])
			b.ReportMetric(r[0].Throughput()/r[1].Throughput(), "throughput-ratio")
			b.ReportMetric(float64(r[0].Percentile(99))/float64(r[1].Percentile(99)), "p99-ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
