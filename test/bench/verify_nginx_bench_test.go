package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/test/nginxtest"
)

// endpointsConf is one private endpoint's server as test/nginxtest renders
// it (ingress-nginx's nginx.tmpl for auth-url, auth-signin and
// auth-response-headers), and the same endpoint public: the location
// without the auth subrequest. Unlike test/nginxtest's configuration, which
// renders the auth subrequest on every endpoint, the backend is reached
// through an upstream with keepalive connections, as ingress-nginx's
// balancer keeps them, and the worker has room for 64 clients with a
// connection to the auth service and to the backend each.
//
// The private endpoint's auth subrequest opens a connection per request:
// ingress-nginx keeps none without the auth-keepalive annotation, which
// devgate refuses on private endpoints. A second private server, whose
// subrequests reuse keepalive connections as auth-keepalive would render
// them, shows what that connection costs; a third, whose auth-url is an
// allow-all service answering 200 at once, what the auth subrequest costs
// nginx whatever the auth service does.
var endpointsConf = template.Must(template.New("nginx").Parse(`
{{define "private"}}
  server {
    listen {{.Listen}} ssl;
    server_name {{.E.Host}};

    location = /_external-auth-Lw-Prefix {
      internal;

      proxy_pass_request_body     off;
      proxy_set_header            Content-Length          "";
      proxy_set_header            X-Forwarded-Proto       "";

      proxy_set_header            Host                    {{.E.AuthHost}};
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
{{if .KeepAlive}}
      proxy_set_header            Connection              "";
      set $target http://devgate_auth{{.AuthPath}};
{{else}}
      set $target {{.E.AuthURL}};
{{end}}
      proxy_pass $target;
    }

    location @signin {
      internal;

      add_header Set-Cookie $auth_cookie;

      return 302 {{.E.SigninURL}};
    }

    location / {
      set $pass_access_scheme  $scheme;
      set $best_http_host      $http_host;
      port_in_redirect off;

      # this location requires authentication
      auth_request        /_external-auth-Lw-Prefix;
      auth_request_set    $auth_cookie $upstream_http_set_cookie;
      add_header          Set-Cookie $auth_cookie;
{{range .E.ResponseHeaders}}      auth_request_set $authHeader{{.Index}} $upstream_http_{{.Var}};
      proxy_set_header '{{.Name}}' $authHeader{{.Index}};
{{end}}
      set_escape_uri $escaped_request_uri $request_uri;
      error_page 401 = @signin;

      proxy_set_header Host              $best_http_host;
      proxy_set_header X-Real-IP         $remote_addr;
      proxy_set_header X-Forwarded-For   $remote_addr;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
      proxy_set_header Connection        "";
      proxy_http_version 1.1;
      proxy_pass http://backend;
    }
  }
{{end}}
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
worker_processes 1;
{{range .Modules}}load_module {{.}};
{{end}}
events { worker_connections 1024; }
http {
  access_log {{.Dir}}/access.log;
  client_body_temp_path {{.Dir}}/client_body;
  proxy_temp_path {{.Dir}}/proxy;
  fastcgi_temp_path {{.Dir}}/fastcgi;
  uwsgi_temp_path {{.Dir}}/uwsgi;
  scgi_temp_path {{.Dir}}/scgi;
  ssl_certificate {{.Dir}}/tls.crt;
  ssl_certificate_key {{.Dir}}/tls.key;

  upstream backend {
    server {{.Backend}};
    keepalive 320;
  }

  upstream devgate_auth {
    server {{.Auth}};
    keepalive 320;
  }

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
{{range .Private}}{{template "private" .}}{{end}}
  server {
    listen {{.Listen}} ssl;
    server_name {{.Public}};

    location / {
      set $pass_access_scheme  $scheme;
      set $best_http_host      $http_host;
      port_in_redirect off;

      proxy_set_header Host              $best_http_host;
      proxy_set_header X-Real-IP         $remote_addr;
      proxy_set_header X-Forwarded-For   $remote_addr;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
      proxy_set_header Connection        "";
      proxy_http_version 1.1;
      proxy_pass http://backend;
    }
  }
}
`))

// privateServer is one private endpoint's server in endpointsConf.
type privateServer struct {
	Listen    string
	E         nginxtest.Endpoint
	KeepAlive bool
	AuthPath  string // path and query of E.AuthURL, for KeepAlive
}

// endpointsNginx is nginx serving endpointsConf on loopback.
type endpointsNginx struct {
	addr string
	pool *x509.CertPool
}

// startEndpointsNginx renders endpointsConf with data and starts nginx on
// listen; it stops nginx (and its worker) when the benchmark ends.
func startEndpointsNginx(b *testing.B, bin, modulesDir, listen string, data map[string]any) *endpointsNginx {
	b.Helper()
	dir := b.TempDir()
	n := &endpointsNginx{pool: nginxtest.WriteCertificate(b, dir, verifyDomain), addr: listen}
	var modules []string
	for _, m := range nginxtest.Modules {
		modules = append(modules, filepath.Join(modulesDir, m))
	}
	data["Dir"], data["Listen"], data["Modules"] = dir, n.addr, modules
	var conf bytes.Buffer
	if err := endpointsConf.Execute(&conf, data); err != nil {
		b.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so stopping it reaches the worker too, and
	// killed with the benchmark binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if b.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			b.Logf("nginx error.log:\n%s", nginxtest.LastLines(string(logs), 40))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			b.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), nginxtest.LastLines(string(logs), 20))
		default:
		}
		if c, err := net.Dial("tcp", n.addr); err == nil {
			c.Close()
			return n
		}
		if time.Now().After(deadline) {
			b.Fatal("nginx does not listen after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client reaches nginx for https://<domain> and its subdomains, and every
// other host (Dex) as named; it keeps conns connections per host.
func (n *endpointsNginx) client(jar http.CookieJar, conns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:           jar,
		Timeout:       15 * time.Second,
		CheckRedirect: noRedirects,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				if host == verifyDomain || strings.HasSuffix(host, "."+verifyDomain) {
					addr = n.addr
				}
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: n.pool, MinVersion: tls.VersionTLS12},
			// No overall limit: switching hosts must not close the
			// other host's idle connections.
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
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
	// test/nginxtest's Find fails in CI where this benchmark should skip.
	nginxBin, modules := "/usr/sbin/nginx", "/usr/lib/nginx/modules"
	if _, err := os.Stat(nginxBin); err != nil {
		if nginxBin, err = exec.LookPath("nginx"); err != nil {
			b.Skip("nginx not found at /usr/sbin/nginx or in $PATH: `make nginx` installs Debian's (as root)")
		}
	}
	for _, m := range nginxtest.Modules {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			b.Skipf("nginx module %s missing in %s: `make nginx` installs libnginx-mod-http-set-misc", m, modules)
		}
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
	authURL, err := url.Parse(private.AuthURL)
	if err != nil {
		b.Fatal(err)
	}
	allowHost := "allowall-" + verifyNamespace + "." + verifyDomain
	allowAnn := maps.Clone(e.ingress)
	allowAnn[ingress.AnnotationAuthURL] = allowAll.URL + authURL.RequestURI()
	allowEndpoint := nginxtest.EndpointFromIngress(b, allowHost, allowAnn)
	public := "public-" + e.host
	listen := freeAddr(b)
	n := startEndpointsNginx(b, nginxBin, modules, listen, map[string]any{
		"Domain": verifyDomain, "Auth": e.authAddr, "Backend": backend.Listener.Addr().String(), "Public": public,
		"Private": []privateServer{
			{Listen: listen, E: private},
			{Listen: listen, E: keepAlive, KeepAlive: true, AuthPath: authURL.RequestURI()},
			{Listen: listen, E: allowEndpoint},
		},
	})
	// A session for each private host, each from its own sign-in: a
	// session is bound to its host.
	session := func(web string) string {
		jar, _ := cookiejar.New(nil)
		browser := n.client(jar, 1)
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
			client := n.client(nil, c)
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
