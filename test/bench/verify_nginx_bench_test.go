package bench

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/test/nginxtest"
)

// browserClient reaches nginx for https://<domain> and its subdomains, and
// every other host (Dex) as named; it keeps conns connections per host.
func browserClient(n *nginxtest.Nginx, jar http.CookieJar, conns int) *http.Client {
	c := n.Browser(jar, verifyDomain)
	tr := c.Transport.(*http.Transport)
	// No overall limit (Browser sets none): switching hosts must not close
	// the other host's idle connections.
	tr.MaxIdleConnsPerHost = conns
	tr.DisableCompression = true
	return c
}

// seenUser is the backend's answer header naming the user nginx passed it.
const seenUser = "X-Seen-User"

// BenchmarkPrivateEndpointVsPublic compares a private endpoint, through a
// real nginx configured as ingress-nginx renders devgate's external auth
// and with the endpoint's session from a sign-in through Dex, with the same
// endpoint public (no auth subrequest), same backend, same nginx. Each
// iteration is one GET to each; they alternate in ten rounds, so the ratios
// come from this one run. ns/op is meaningless here and left out.
func BenchmarkPrivateEndpointVsPublic(b *testing.B) {
	// Not nginxtest.Find: it fails in CI, or on a missing module, where
	// this benchmark should skip.
	nginxBin, modules, err := nginxtest.Lookup()
	if err != nil {
		b.Skip(err)
	}
	e := startAuthEnv(b)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(seenUser, r.Header.Get(auth.HeaderUser))
		_, _ = w.Write([]byte("ok\n"))
	}))
	b.Cleanup(backend.Close)
	// The allow-all auth service: what any auth service costs at least.
	allowAll := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(auth.HeaderUser, verifyMember)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(allowAll.Close)
	private := nginxtest.EndpointFromIngress(b, e.host, e.ingress)
	// Same Ingress, other hosts of the namespace: the diagnostic servers.
	kaHost := "keepalive-" + verifyNamespace + "." + verifyDomain
	keepAlive := nginxtest.EndpointFromIngress(b, kaHost, e.ingress)
	keepAlive.AuthKeepAlive = true
	authURL, err := url.Parse(private.AuthURL)
	if err != nil {
		b.Fatal(err)
	}
	allowHost := "allowall-" + verifyNamespace + "." + verifyDomain
	allowAnn := maps.Clone(e.ingress)
	allowAnn[ingress.AnnotationAuthURL] = allowAll.URL + authURL.RequestURI()
	allowEndpoint := nginxtest.EndpointFromIngress(b, allowHost, allowAnn)
	public := "public-" + e.host
	// The backend is reached through an upstream with keepalive
	// connections, as ingress-nginx's balancer keeps them, and the worker
	// has room for 64 clients with a connection to the auth service and to
	// the backend each. The private endpoint's auth subrequest opens a
	// connection per request: ingress-nginx keeps none without the
	// auth-keepalive annotation, which devgate refuses on private
	// endpoints. The keepalive server, whose subrequests reuse connections
	// as auth-keepalive would render them, shows what that connection
	// costs; the allow-all one what the auth subrequest costs nginx
	// whatever the auth service does.
	n := nginxtest.Start(b, nginxtest.Options{
		Bin: nginxBin, ModulesDir: modules, Domain: verifyDomain, Auth: e.authAddr, Backend: backend.Listener.Addr().String(),
		Endpoints:         []nginxtest.Endpoint{private, keepAlive, allowEndpoint},
		Public:            []string{public},
		KeepAlive:         320,
		WorkerConnections: 1024,
		ErrorLogLevel:     "warn",
	})
	// A session for each private host, each from its own sign-in: a
	// session is bound to its host.
	session := func(web string) string {
		jar, _ := cookiejar.New(nil)
		browser := browserClient(n, jar, 1)
		codeURL := e.signIn(b, browser, web+"/")
		// The code opens the endpoint, whose answer sets its own session.
		res, err := browser.Get(codeURL)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get(seenUser) != verifyMember {
			b.Fatalf("redeeming the code through nginx: %d, the backend saw %q", res.StatusCode, res.Header.Get(seenUser))
		}
		for _, c := range res.Cookies() {
			if c.Name == auth.CookieName && c.Value != "" {
				return (&http.Cookie{Name: c.Name, Value: c.Value}).String()
			}
		}
		b.Fatal("redeeming the code through nginx set no endpoint session")
		return ""
	}
	webSession, kaSession := session(e.web), session("https://"+kaHost)

	get := func(rawURL, cookie string) func() (*http.Request, error) {
		return func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, rawURL, nil)
			if err == nil && cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			return req, err
		}
	}
	priv := probe{status: http.StatusOK, header: seenUser, value: verifyMember, new: get(e.web+"/app/page?tab=1", webSession)}
	ka := probe{status: http.StatusOK, header: seenUser, value: verifyMember, new: get("https://"+kaHost+"/app/page?tab=1", kaSession)}
	allow := probe{status: http.StatusOK, header: seenUser, value: verifyMember, new: get("https://"+allowHost+"/app/page?tab=1", "")}
	// Public: no session (the private one is host-only), and nginx passes
	// no user, so the backend names none.
	pub := probe{status: http.StatusOK, header: seenUser, value: "", new: get("https://"+public+"/app/page?tab=1", "")}
	for _, c := range verifyConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			client := browserClient(n, nil, c)
			defer client.CloseIdleConnections()
			r := alternate(b, client, c, []string{"private", "public", "private-keepalive", "allow-all-auth"}, []probe{priv, pub, ka, allow})
			report(b, "private", &r[0])
			report(b, "public", &r[1])
			report(b, "keepalive", &r[2])
			report(b, "allowall", &r[3])
			b.ReportMetric(r[0].Throughput()/r[1].Throughput(), "throughput-ratio")
			b.ReportMetric(float64(r[0].Percentile(99))/float64(r[1].Percentile(99)), "p99-ratio")
			b.ReportMetric(r[2].Throughput()/r[1].Throughput(), "keepalive-throughput-ratio")
			b.ReportMetric(r[3].Throughput()/r[1].Throughput(), "allowall-throughput-ratio")
			// devgate against the allow-all auth service, both behind the
			// same subrequest: what devgate adds to it.
			b.ReportMetric(r[0].Throughput()/r[3].Throughput(), "private-vs-allowall-ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
