package auth

import (
	"net/http/httptest"
	"testing"
	"time"
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
	now = now.Add(9 * time.Second)
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("allowed before one failure drained")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("still blocked once a failure drained")
	}
	l.Fail("a")
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("one more failure must block again")
	}
}

func TestFailureLimiterBoundsMemory(t *testing.T) {
	now := testNow
	l := &FailureLimiter{Burst: 3, Refill: time.Second, MaxClients: 2, Now: func() time.Time { return now }}
	l.Fail("a")
	l.Fail("b")
	now = now.Add(time.Minute) // a and b drained
	l.Fail("c")
	if len(l.clients) != 1 {
		t.Fatalf("drained clients kept: %d", len(l.clients))
	}
}

func TestClientAddress(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.7:41000"
	if got := clientAddress(r); got != "10.0.0.7" {
		t.Fatalf("peer: %q", got)
	}
	r.Header.Set("X-Real-IP", "192.0.2.1")
	if got := clientAddress(r); got != "192.0.2.1" {
		t.Fatalf("X-Real-IP: %q", got)
	}
	r.Header.Set("X-Real-IP", "not an address")
	if got := clientAddress(r); got != "10.0.0.7" {
		t.Fatalf("invalid X-Real-IP: %q", got)
	}
}
