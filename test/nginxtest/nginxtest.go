// Package nginxtest is test support shared by the suites that put a real
// nginx, configured the way ingress-nginx renders devgate's external-auth
// annotations, in front of `devgate auth` and a recording test backend
// (test/authe2e, e2e, test/bench). It holds no tests of its own.
package nginxtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/test/testcert"
)

// Modules are the dynamic modules behind ingress-nginx's set_escape_uri
// (Debian's libnginx-mod-http-set-misc and its NDK).
var Modules = []string{"ndk_http_module.so", "ngx_http_set_misc_module.so"}

// Find returns nginx and its modules directory (see Lookup). Outside CI a
// missing nginx skips the test; in CI it fails it; a missing module fails
// it anywhere: `make nginx` provides both.
func Find(t testing.TB) (bin, modules string) {
	t.Helper()
	bin, modules, err := Lookup()
	if err != nil {
		if bin == "" && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return bin, modules
}

// Lookup returns /usr/sbin/nginx, else the nginx in $PATH, and the modules
// directory, or why they are missing: bin is empty when nginx itself is.
func Lookup() (bin, modules string, err error) {
	bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nginx"); err != nil {
			return "", "", errors.New("nginx not found at /usr/sbin/nginx or in $PATH: `make nginx` installs Debian's (as root)")
		}
	}
	modules = "/usr/lib/nginx/modules"
	for _, m := range Modules {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			return bin, modules, fmt.Errorf("nginx module %s missing in %s: `make nginx` installs libnginx-mod-http-set-misc", m, modules)
		}
	}
	return bin, modules, nil
}

// Endpoint is one Ingress host as ingress-nginx renders it from the
// external-auth annotations.
type Endpoint struct {
	Host, AuthURL, AuthHost, SigninURL string
	ResponseHeaders                    []ResponseHeader
	// AuthKeepAlive sends the auth subrequests over kept-alive connections
	// (Options.KeepAlive of them) to the auth service, as ingress-nginx
	// renders the auth-keepalive annotation, which devgate refuses on
	// private endpoints: a benchmark's measure of what a connection per
	// subrequest costs.
	AuthKeepAlive bool
}

// ResponseHeader is one auth-response-headers entry.
type ResponseHeader struct {
	Index     int
	Name, Var string
}

// EndpointFromIngress translates annotations as ingress-nginx's
// externalauth parser and template functions do.
func EndpointFromIngress(t testing.TB, host string, annotations map[string]string) Endpoint {
	t.Helper()
	e := Endpoint{Host: host, AuthURL: annotations[ingress.AnnotationAuthURL]}
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
		e.ResponseHeaders = append(e.ResponseHeaders, ResponseHeader{Index: i, Name: h,
			Var: strings.ToLower(strings.ReplaceAll(h, "-", "_"))})
	}
	return e
}

// PrivateIngress is the Ingress the controller generates with cfg for
// Service web (one HTTP port, 80) in namespace, annotated private.
func PrivateIngress(t testing.TB, cfg *config.Config, namespace string) *networkingv1.Ingress {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: namespace,
			Annotations: map[string]string{service.AnnotationAutoIngress: "private"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	ing, err := service.DesiredIngress(svc, cfg)
	if err != nil || ing == nil {
		t.Fatalf("DesiredIngress: %v, %v", ing, err)
	}
	return ing
}

// nginxConf mirrors what ingress-nginx's nginx.tmpl renders for a location
// with auth-url, auth-signin and auth-response-headers (its Lua balancer
// replaced by a plain proxy_pass, or an upstream with keepalive connections
// as the balancer keeps them), plus the auth service's own Ingress on the
// bare domain, public endpoints (no auth subrequest) and a default server.
var nginxConf = template.Must(template.New("nginx").Parse(`
{{define "backend"}}
      proxy_set_header Host              $best_http_host;
      proxy_set_header X-Real-IP         $remote_addr;
      proxy_set_header X-Forwarded-For   $remote_addr;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
{{if .KeepAlive}}      proxy_set_header Connection        "";
      proxy_http_version 1.1;
      proxy_pass http://backend;
{{else}}      proxy_http_version 1.1;
      proxy_pass http://{{.Backend}};
{{end}}{{end}}
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log {{.ErrorLogLevel}};
worker_processes 1;
{{range .Modules}}load_module {{.}};
{{end}}
events { worker_connections {{.WorkerConnections}}; }
http {
  access_log {{.Dir}}/access.log;
  client_body_temp_path {{.Dir}}/client_body;
  proxy_temp_path {{.Dir}}/proxy;
  fastcgi_temp_path {{.Dir}}/fastcgi;
  uwsgi_temp_path {{.Dir}}/uwsgi;
  scgi_temp_path {{.Dir}}/scgi;
  ssl_certificate {{.Dir}}/tls.crt;
  ssl_certificate_key {{.Dir}}/tls.key;
{{if .KeepAlive}}
  upstream backend {
    server {{.Backend}};
    keepalive {{.KeepAlive}};
  }
{{end}}{{range $i, $e := .Endpoints}}{{if $e.AuthKeepAlive}}
  upstream auth-{{$i}} {
    server {{$e.AuthHostPort}};
    keepalive {{$.KeepAlive}};
  }
{{end}}{{end}}
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
{{if $e.AuthKeepAlive}}
      proxy_set_header            Connection              "";
      set $target http://auth-{{$i}}{{$e.AuthPath}};
{{else}}
      set $target {{$e.AuthURL}};
{{end}}      proxy_pass $target;
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
{{end}}{{template "backend" $}}    }
  }
{{end}}{{range .Public}}
  server {
    listen {{$.Listen}} ssl;
    server_name {{.}};

    location / {
      set $pass_access_scheme  $scheme;
      set $best_http_host      $http_host;
      port_in_redirect off;
{{template "backend" $}}    }
  }
{{end}}
}
`))

// endpointConf is an Endpoint with what nginxConf renders of its auth-url
// for AuthKeepAlive: an upstream of its host and port, and the path and
// query sent there.
type endpointConf struct {
	Endpoint
	AuthHostPort, AuthPath string
}

// Options are what Start needs.
type Options struct {
	// Bin and ModulesDir are what Find returns.
	Bin, ModulesDir string
	// Domain is the bare domain: the auth service's Ingress is
	// https://<Domain>/auth/, and the certificate covers it and *.<Domain>.
	Domain string
	// Auth is the auth service's address (host:port), Backend the private
	// endpoints' application's.
	Auth, Backend string
	Endpoints     []Endpoint
	// Public are hosts served without the auth subrequest, by the same
	// backend.
	Public []string
	// KeepAlive, when not 0, is how many idle connections nginx keeps to
	// the backend and, for AuthKeepAlive endpoints, to the auth service, as
	// ingress-nginx's balancer does; without it, every request opens one.
	KeepAlive int
	// WorkerConnections is nginx's worker_connections: 128 unless set. A
	// load test needs room for its clients and a connection to the auth
	// service and the backend for each.
	WorkerConnections int
	// ErrorLogLevel is the level of nginx's error.log: info unless set (a
	// load test wants warn, not a line per closed keepalive connection).
	ErrorLogLevel string
}

// Nginx is a running nginx on loopback.
type Nginx struct {
	// Addr is where it listens (127.0.0.1:port), for every host.
	Addr string
	// Pool trusts its certificate.
	Pool *x509.CertPool
}

// Start writes a certificate for the domain and its subdomains and the
// configuration, starts nginx on a free loopback port, and stops it (and its
// workers) when the test ends.
func Start(t testing.TB, o Options) *Nginx {
	t.Helper()
	dir := t.TempDir()
	n := &Nginx{Pool: WriteCertificate(t, dir, o.Domain)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.Addr = ln.Addr().String()
	ln.Close()
	var modules []string
	for _, m := range Modules {
		modules = append(modules, filepath.Join(o.ModulesDir, m))
	}
	endpoints := make([]endpointConf, len(o.Endpoints))
	for i, e := range o.Endpoints {
		endpoints[i].Endpoint = e
		if e.AuthKeepAlive {
			if o.KeepAlive == 0 {
				t.Fatalf("endpoint %s: AuthKeepAlive needs Options.KeepAlive", e.Host)
			}
			u, err := url.Parse(e.AuthURL)
			if err != nil {
				t.Fatal(err)
			}
			endpoints[i].AuthHostPort, endpoints[i].AuthPath = u.Host, u.RequestURI()
		}
	}
	workers, level := o.WorkerConnections, o.ErrorLogLevel
	if workers == 0 {
		workers = 128
	}
	if level == "" {
		level = "info"
	}
	var conf bytes.Buffer
	if err := nginxConf.Execute(&conf, map[string]any{
		"Dir": dir, "Listen": n.Addr, "Domain": o.Domain, "Auth": o.Auth,
		"Backend": o.Backend, "Endpoints": endpoints, "Modules": modules, "Public": o.Public,
		"KeepAlive": o.KeepAlive, "WorkerConnections": workers, "ErrorLogLevel": level,
	}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(o.Bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
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
			t.Logf("nginx error.log:\n%s", LastLines(string(logs), 40))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s\nconfiguration:\n%s", err, out.String(), LastLines(string(logs), 20), conf.String())
		default:
		}
		if c, err := net.Dial("tcp", n.Addr); err == nil {
			c.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx does not listen after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WriteCertificate writes tls.crt and tls.key into dir for domain and
// *.domain, signed by a new CA, and returns the pool that trusts that CA.
func WriteCertificate(t testing.TB, dir, domain string) *x509.CertPool {
	t.Helper()
	ca, err := testcert.NewCA("devgate-test-ingress-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Sign(domain, domain, "*."+domain)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), serving.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), serving.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca.Pool()
}

// Do sends a request for any https URL to nginx, as a browser would after
// DNS, without following redirects. The body is closed when the test ends.
func (n *Nginx) Do(t testing.TB, jar http.CookieJar, method, rawURL string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", n.Addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: n.Pool, MinVersion: tls.VersionTLS12},
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

// ReadAll reads a response's body.
func ReadAll(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

// LastLines is the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Seen is what the backend received.
type Seen struct {
	User, Email string
	HasEmail    bool
	URI, Method string
	Body        string
	// Cookie is the Cookie header the backend got; MustSee compares it only
	// when the wanted one sets it.
	Cookie string
}

// Backend is the private endpoints' application: it records each request.
type Backend struct {
	Addr string
	got  chan Seen
	hits atomic.Int64
}

// NewBackend starts a backend, stopped when the test ends.
func NewBackend(t testing.TB) *Backend {
	b := &Backend{got: make(chan Seen, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, hasEmail := r.Header[http.CanonicalHeaderKey(auth.HeaderEmail)]
		s := Seen{User: r.Header.Get(auth.HeaderUser), Email: r.Header.Get(auth.HeaderEmail), HasEmail: hasEmail,
			URI: r.URL.RequestURI(), Method: r.Method, Body: string(body), Cookie: r.Header.Get("Cookie")}
		b.hits.Add(1)
		b.got <- s
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(srv.Close)
	b.Addr = srv.Listener.Addr().String()
	return b
}

// Hits counts the requests the backend received.
func (b *Backend) Hits() int64 { return b.hits.Load() }

// MustSee fails the test unless the next recorded request is want.
func (b *Backend) MustSee(t testing.TB, want Seen) Seen {
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
	return Seen{}
}

// MustNotSee fails the test if a request reached the backend.
func (b *Backend) MustNotSee(t testing.TB) {
	t.Helper()
	select {
	case got := <-b.got:
		t.Fatalf("a refused request reached the backend: %+v", got)
	default:
	}
}

// Drain forgets the recorded requests.
func (b *Backend) Drain() {
	for {
		select {
		case <-b.got:
		default:
			return
		}
	}
}

// WantStatus fails the test unless res has status want, showing the end of
// the body.
func WantStatus(t testing.TB, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", res.Request.Method, res.Request.URL, res.StatusCode, want, LastLines(ReadAll(t, res), 5))
	}
}

// WantSigninRedirect checks nginx's 302 to the sign-in page of domain that
// brings the user back to target, and returns the sign-in URL.
func WantSigninRedirect(t testing.TB, res *http.Response, domain, target string) *url.URL {
	t.Helper()
	WantStatus(t, res, http.StatusFound)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Scheme != "https" || loc.Host != domain || loc.Path != "/auth/signin" || loc.Query().Get("rd") != target {
		t.Fatalf("Location = %s, want https://%s/auth/signin with rd=%s", loc, domain, target)
	}
	return loc
}
