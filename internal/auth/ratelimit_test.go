package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/config"
)

func TestFailureLimiter(t *testing.T) {
	now := testNow
	l := &FailureLimiter{Burst: 3, Refill: 10 * time.Second, MaxClients: 100, Now: func() time.Time { return now }}
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("blocked after %d failures, burst is 3", i)
		}
		l.Fail("a")
	}
	ok, wait := l.Allow("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("after 3 failures: allowed=%v wait=%v, want blocked for 10s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another client is blocked")
	}
	if n := l.Limited(); n != 1 {
		t.Fatalf("Limited() = %d, want 1", n)
	}
	now = now.Add(9 * time.Second)
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("allowed before one failure drained")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("still blocked once a failure drained")
	}
	if n := l.Limited(); n != 0 {
		t.Fatalf("Limited() once drained = %d, want 0", n)
	}
	l.Fail("a")
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("one more failure must block again")
	}
}

// A flood of new clients evicts the least recently seen only: a limited
// client that keeps asking stays limited, and the table never grows past
// MaxClients.
func TestFailureLimiterFloodEvictsOnlyLeastRecent(t *testing.T) {
	now := testNow
	const size = 100
	l := &FailureLimiter{Burst: 3, Refill: time.Hour, MaxClients: size, Now: func() time.Time { return now }}
	for range 3 {
		l.Fail("192.0.2.1") // limited, then never seen again: the LRU victim
	}
	for range 3 {
		l.Fail("192.0.2.2") // limited, and keeps trying
	}
	for i := range 10 * size {
		l.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if n := l.Len(); n > size {
			t.Fatalf("after %d new clients the table holds %d, more than MaxClients %d", i+1, n, size)
		}
		if i%(size/2) == 0 {
			if ok, _ := l.Allow("192.0.2.2"); ok {
				t.Fatalf("a limited client that keeps asking was forgotten after %d new clients", i+1)
			}
		}
	}
	if ok, _ := l.Allow("192.0.2.2"); ok {
		t.Fatal("the limited client that kept asking was forgotten by the flood")
	}
	if ok, _ := l.Allow("192.0.2.1"); !ok {
		t.Fatal("the least recently seen client was not the one evicted")
	}
	if n := l.Len(); n != size {
		t.Fatalf("table holds %d, want %d", n, size)
	}
	if n := l.Limited(); n != 1 {
		t.Fatalf("Limited() = %d, want 1 (the evicted client is not counted)", n)
	}
}

// One host holds a whole IPv6 /64: its addresses share a bucket.
func TestFailureLimiterIPv6Slash64(t *testing.T) {
	now := testNow
	l := &FailureLimiter{Burst: 3, Refill: time.Hour, MaxClients: 100, Now: func() time.Time { return now }}
	for _, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3"} {
		l.Fail(a)
	}
	if ok, _ := l.Allow("2001:db8:1:2:ffff:ffff:ffff:ffff"); ok {
		t.Fatal("another address of the same /64 is not limited")
	}
	if ok, _ := l.Allow("2001:db8:1:3::1"); !ok {
		t.Fatal("another /64 is limited")
	}
	if ok, _ := l.Allow("198.51.100.1"); !ok {
		t.Fatal("an IPv4 client is limited")
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	cases := []struct {
		name, peer string
		xff        []string
		realIP     string
		trusted    []netip.Prefix
		want       string
	}{
		{"peer", "10.0.0.7:41000", nil, "", trusted, "10.0.0.7"},
		{"untrusted peer: X-Real-IP ignored", "192.0.2.5:1", nil, "198.51.100.1", trusted, "192.0.2.5"},
		{"untrusted peer: X-Forwarded-For ignored", "192.0.2.5:1", []string{"198.51.100.1"}, "198.51.100.1", trusted, "192.0.2.5"},
		{"nothing trusted", "10.0.0.7:1", []string{"198.51.100.1"}, "198.51.100.1", nil, "10.0.0.7"},
		{"trusted peer: X-Real-IP", "10.0.0.7:1", nil, "198.51.100.1", trusted, "198.51.100.1"},
		{"trusted peer: right-most untrusted X-Forwarded-For", "10.0.0.7:1",
			[]string{"203.0.113.9, 198.51.100.2, 10.0.0.3"}, "10.0.0.3", trusted, "198.51.100.2"},
		{"X-Forwarded-For over several lines", "127.0.0.1:1",
			[]string{"203.0.113.9", "198.51.100.2", "10.9.9.9"}, "", trusted, "198.51.100.2"},
		{"forged left-most entry is not believed", "10.0.0.7:1",
			[]string{"1.1.1.1, 198.51.100.2"}, "", trusted, "198.51.100.2"},
		{"all forwarded entries trusted: X-Real-IP", "10.0.0.7:1", []string{"10.1.1.1"}, "198.51.100.1", trusted, "198.51.100.1"},
		{"all trusted, no X-Real-IP: the peer", "10.0.0.7:1", []string{"10.1.1.1"}, "", trusted, "10.0.0.7"},
		{"malformed entry ends the walk", "10.0.0.7:1", []string{"198.51.100.9, garbage"}, "198.51.100.1", trusted, "198.51.100.1"},
		{"invalid X-Real-IP: the peer", "10.0.0.7:1", nil, "not an address", trusted, "10.0.0.7"},
		{"entries with ports", "10.0.0.7:1", []string{"[2001:db8::1]:80, 198.51.100.3:4711"}, "", trusted, "198.51.100.3"},
		{"bracketed IPv6", "10.0.0.7:1", []string{"[2001:db8::1]"}, "", trusted, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.7]:1", nil, "198.51.100.1", trusted, "198.51.100.1"},
		{"IPv6 peer", "[2001:db8::5]:1", nil, "198.51.100.1", trusted, "2001:db8::5"},
		{"peer without port", "192.0.2.8", nil, "198.51.100.1", trusted, "192.0.2.8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := clientIP(r, tc.trusted); got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

// Without withClient a request is its peer, whatever it claims.
func TestClientAddressDefaultsToPeer(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.7:41000"
	r.Header.Set("X-Real-IP", "192.0.2.1")
	if got := clientAddress(r); got != "10.0.0.7" {
		t.Fatalf("client %q", got)
	}
}

type swappableConfig struct{ c *config.Config }

func (s *swappableConfig) Current() *config.Config { return s.c }

func TestTrustedProxiesParsedOncePerConfig(t *testing.T) {
	c1 := testConfig()
	c1.Auth.TrustedProxies = []string{"10.0.0.0/8"}
	src := &swappableConfig{c: c1}
	tp := &trustedProxies{config: src}
	a := tp.current()
	p1 := tp.parsed.Load()
	if len(a) != 1 || a[0].String() != "10.0.0.0/8" {
		t.Fatalf("prefixes %v", a)
	}
	tp.current()
	if tp.parsed.Load() != p1 {
		t.Fatal("parsed again for the same configuration")
	}
	c2 := testConfig()
	c2.Auth.TrustedProxies = []string{"192.0.2.1"}
	src.c = c2
	if b := tp.current(); len(b) != 1 || b[0].String() != "192.0.2.1/32" {
		t.Fatalf("after a reload: %v", b)
	}
}

// routesWith is the whole handler of a Server over cfg (real clock: only
// saToken is valid) with a burst of 3 failures.
func routesWith(cfg *config.Config) (*Server, http.Handler) {
	s := &Server{
		opts: Options{CookieSecret: testSecret, AccessCacheTTL: time.Second, SessionMaxAge: time.Hour,
			FailureBurst: 3, FailureRefill: time.Hour, Logger: logr.Discard()},
		config: configsource.Static(cfg),
	}
	return s, s.routes(standardStore(), standardReviewer())
}

func verifyFrom(h http.Handler, peer, realIP, token string) int {
	r := httptest.NewRequest(http.MethodGet, "/auth/verify?namespace=team-a", nil)
	r.RemoteAddr = peer
	if realIP != "" {
		r.Header.Set("X-Real-IP", realIP)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestForgedRealIPFromUntrustedPeerIsIgnored(t *testing.T) {
	_, h := routesWith(testConfig()) // trusts nobody
	for i := range 3 {
		// A new X-Real-IP each time: a caller reaching the service directly
		// trying to pass for new clients.
		verifyFrom(h, "192.0.2.50:1234", fmt.Sprintf("198.51.100.%d", i), unknownToken)
	}
	if code := verifyFrom(h, "192.0.2.50:1234", "198.51.100.200", saToken); code != 401 {
		t.Fatalf("the peer with a fresh forged X-Real-IP: %d, want 401 (limited)", code)
	}
	if code := verifyFrom(h, "192.0.2.51:1234", "", saToken); code != 200 {
		t.Fatalf("another peer: %d, want 200", code)
	}
}

func TestRealIPFromTrustedPeerIsBelieved(t *testing.T) {
	cfg := testConfig()
	cfg.Auth.TrustedProxies = []string{"192.0.2.50/32"}
	_, h := routesWith(cfg)
	for range 3 {
		verifyFrom(h, "192.0.2.50:1234", "198.51.100.1", unknownToken)
	}
	if code := verifyFrom(h, "192.0.2.50:1234", "198.51.100.1", saToken); code != 401 {
		t.Fatalf("the limited client behind the proxy: %d, want 401", code)
	}
	if code := verifyFrom(h, "192.0.2.50:1234", "198.51.100.2", saToken); code != 200 {
		t.Fatalf("another client behind the same proxy: %d, want 200 (not one shared bucket)", code)
	}
}
