// Package browser drives the auth service's pages in headless Chromium
// (Debian's chromium package, `make chromium`) against a real control plane:
// the one of `devgate dev`, with devgate's webhook and the auth service on
// loopback. The browser reaches the auth service as https://<domain>/auth,
// as it would behind the ingress controller: a TLS front on loopback, to
// which Chromium resolves the domain.
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"devgate.dev/devgate/test/kubetest"
)

// chromiumPath is Debian's chromium.
const chromiumPath = "/usr/bin/chromium"

// findChromium skips the test without Chromium, outside CI; in CI a missing
// browser fails it: `make chromium` provides it.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := "chromium not found at " + chromiumPath + ": `make chromium` installs Debian's (as root)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return chromiumPath
}

// tlsFront serves https for domain on loopback in front of the auth service
// at backend (http://ADDRESS), as the ingress controller does in a cluster.
// It returns the address Chromium must resolve domain to.
func tlsFront(t *testing.T, backend string) string {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(front.Close)
	return front.Listener.Addr().String()
}

// newBrowser starts headless Chromium with a fresh profile, resolving domain
// to addr. Without the background-networking flags Chromium reaches out to
// Google's services, which a closed network refuses.
func newBrowser(t *testing.T, domain, addr string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(findChromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 760),
		// Screenshots without a scrollbar's strip.
		chromedp.Flag("hide-scrollbars", true),
		// The domain is the TLS front's, port included.
		chromedp.Flag("host-resolver-rules", "MAP "+domain+" "+addr),
		// The front's certificate is httptest's own.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, with no deadline: a deadline would
	// end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline, failing the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text is the text of the page's body.
func text(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, "reading the page", chromedp.Text("body"))
}

// screenshot writes the page as SCREENSHOTS_DIR/name (PNG) when the
// variable is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	png := get(t, ctx, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// eventually retries check until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kubetest.Eventually(t, timeout, 200*time.Millisecond, check)
}

func mustContain(t *testing.T, page, want string) {
	t.Helper()
	if !strings.Contains(page, want) {
		t.Fatalf("the page lacks %q:\n%s", want, page)
	}
}

func mustNotContain(t *testing.T, page string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Fatalf("the page shows %q:\n%s", u, page)
		}
	}
}

var errNotYet = errors.New("not yet")

// logBuffer collects log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintf(&l.buf, "%s %s\n", prefix, args)
	}, funcr.Options{})
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
