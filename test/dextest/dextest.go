// Package dextest runs Dex, the OpenID provider, on loopback for the suites
// that sign in through a real provider (test/authe2e, test/bench): its
// configuration with static clients and password users, a reverse proxy
// that owns the issuer URL, and a browser's way through its password form;
// and the running of any such server binary (test/bench's oauth2-proxy).
// It holds no tests of its own.
package dextest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Find returns the dex binary (see Lookup). Missing, it skips the test
// outside CI and fails it in CI: `make tools` builds it.
func Find(t testing.TB) string {
	t.Helper()
	bin, err := Lookup()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return bin
}

// Lookup returns the dex binary: $DEVGATE_DEX (the Makefile exports it),
// else the newest bin/dex-*/dex above the working directory.
func Lookup() (string, error) {
	return LookupTool("DEVGATE_DEX", "dex", "`make dex` or `make tools` builds it")
}

// LookupTool returns a binary the Makefile builds into bin/<name>-<version>/:
// $env when it names a file, else the newest bin/<name>-*/<name> above the
// working directory. The error names both places and how, builtBy, to get
// the binary.
func LookupTool(env, name, builtBy string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	wd, _ := os.Getwd()
	for dir := wd; ; dir = filepath.Dir(dir) {
		if m, _ := filepath.Glob(filepath.Join(dir, "bin", name+"-*", name)); len(m) > 0 {
			sort.Strings(m)
			return m[len(m)-1], nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", fmt.Errorf("%s not found ($%s or bin/%s-*/%s): %s", name, env, name, name, builtBy)
}

// Client is one of Dex's static OAuth2 clients.
type Client struct {
	ID, Secret, Name string
	RedirectURIs     []string
}

// User is one of Dex's static password users. Hash is the bcrypt hash of
// the user's password.
type User struct {
	Email, Hash, Username, UserID string
}

// Server is Dex on loopback behind a reverse proxy that owns the issuer
// URL, so that a test can hand a relying party a token response of its
// choosing (Swap) the way a compromised or confused provider would.
type Server struct {
	// Issuer is the issuer URL, http://127.0.0.1:port/dex.
	Issuer string
	// Swap, when set, replaces the id_token of the next token responses.
	Swap atomic.Pointer[string]

	proc      *Process
	redirects []string
}

var configTemplate = `issuer: %s
storage:
  type: memory
web:
  http: %s
oauth2:
  skipApprovalScreen: true
staticClients:%s
enablePasswordDB: true
staticPasswords:%s
`

// Start runs bin (what Find returns) with clients and users, waits until
// its discovery document answers, and stops it when the test ends.
func Start(t testing.TB, bin string, clients []Client, users []User) *Server {
	t.Helper()
	d := &Server{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dexAddr := ln.Addr().String()
	ln.Close()
	target, _ := url.Parse("http://" + dexAddr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = d.swapIDToken
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	d.Issuer = front.URL + "/dex"

	var cl, us strings.Builder
	for _, c := range clients {
		quoted := make([]string, len(c.RedirectURIs))
		for i, r := range c.RedirectURIs {
			quoted[i] = strconv.Quote(r)
			d.redirects = append(d.redirects, r)
		}
		fmt.Fprintf(&cl, "\n- id: %s\n  secret: %s\n  name: %s\n  redirectURIs: [%s]", c.ID, c.Secret, c.Name, strings.Join(quoted, ", "))
	}
	for _, u := range users {
		fmt.Fprintf(&us, "\n- email: %s\n  hash: %q\n  username: %s\n  userID: %s", u.Email, u.Hash, u.Username, u.UserID)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg := fmt.Sprintf(configTemplate, d.Issuer, dexAddr, cl.String(), us.String())
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.proc = StartProcess(t, exec.Command(bin, "serve", path))
	// Stopped before its logs are read; the process's own cleanup, later,
	// finds it stopped.
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("dex logs:\n%s", lastLines(d.proc.Logs.String(), 30))
		}
	})
	d.proc.WaitReady(t, "dex", d.Issuer+"/.well-known/openid-configuration")
	return d
}

// Process is a server a test runs as a child process.
type Process struct {
	// Logs is its output, complete once the process has stopped.
	Logs *bytes.Buffer

	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// StartProcess starts cmd with its output in Logs, killed with the test
// binary, and stops it when the test ends.
func StartProcess(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Logs: &bytes.Buffer{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Logs, p.Logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Stop)
	return p
}

// WaitReady waits until readyURL answers 200, and fails the test, with the
// process's logs, if the process named name exits first or 30 s pass.
func (p *Process) WaitReady(t testing.TB, name, readyURL string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(readyURL)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited:\n%s", name, p.Logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s:\n%s", name, p.Logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the process (SIGTERM, then SIGKILL) and waits for it.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// Stop ends Dex (SIGTERM, then SIGKILL) and waits for it.
func (d *Server) Stop() { d.proc.Stop() }

func (d *Server) swapIDToken(res *http.Response) error {
	repl := d.Swap.Load()
	if repl == nil || !strings.HasSuffix(res.Request.URL.Path, "/token") || res.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	var tok map[string]any
	if err := json.Unmarshal(body, &tok); err != nil {
		return err
	}
	tok["id_token"] = *repl
	body, _ = json.Marshal(tok)
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// Login signs in at Dex's password form, from the authorization URL on, as
// a browser does, and returns where Dex sends the browser back to: one of
// the clients' redirect URIs. client must not follow redirects.
func (d *Server) Login(t testing.TB, client *http.Client, authURL, email, password string) *url.URL {
	t.Helper()
	next, _ := url.Parse(authURL)
	for range 10 {
		res := Get(t, client, next.String(), nil)
		body := ReadAll(t, res)
		switch {
		case res.StatusCode >= 300 && res.StatusCode < 400:
			loc, err := next.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			next = loc
			continue
		case res.StatusCode != http.StatusOK:
			t.Fatalf("dex %s: %d\n%s", next, res.StatusCode, body)
		}
		m := formAction.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no login form at %s:\n%s", next, body)
		}
		action, _ := next.Parse(html.UnescapeString(m[1]))
		form := url.Values{"login": {email}, "password": {password}}
		req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ReadAll(t, res)
		if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
			t.Fatalf("dex login as %s: %d", email, res.StatusCode)
		}
		back, err := action.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if !d.isRedirect(back) {
			// An approval or another step of Dex: follow it.
			next = back
			continue
		}
		return back
	}
	t.Fatalf("dex login from %s did not come back", authURL)
	return nil
}

func (d *Server) isRedirect(u *url.URL) bool {
	for _, r := range d.redirects {
		if strings.HasPrefix(u.String(), r) {
			return true
		}
	}
	return false
}

// Get sends a GET with header through client; the body is closed when the
// test ends.
func Get(t testing.TB, client *http.Client, rawURL string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// ReadAll reads a response's body.
func ReadAll(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
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
