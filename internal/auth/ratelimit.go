package auth

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FailureLimiter limits refused credentials per client, a leaky bucket: each
// failure adds one, one drains every Refill, and a client whose bucket holds
// Burst failures is not heard until it drains below. Guessing tokens through
// it costs Refill per guess.
type FailureLimiter struct {
	Burst  int
	Refill time.Duration
	// MaxClients bounds the memory; beyond it drained clients are forgotten,
	// and if that is not enough, all are.
	MaxClients int
	Now        func() time.Time

	mu      sync.Mutex
	clients map[string]*failures
}

type failures struct {
	level float64 // failures not yet drained at last
	last  time.Time
}

// drained is f's level at now.
func (f *failures) drained(now time.Time, refill time.Duration) float64 {
	return math.Max(0, f.level-float64(now.Sub(f.last))/float64(refill))
}

// Allow reports whether client may present credentials now, and if not,
// when it may again.
func (l *FailureLimiter) Allow(client string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	if !ok {
		return true, 0
	}
	level := f.drained(l.Now(), l.Refill)
	if level <= float64(l.Burst)-1 {
		return true, 0
	}
	wait := time.Duration((level - float64(l.Burst) + 1) * float64(l.Refill))
	return false, max(wait, time.Second)
}

// Fail records a refused credential of client.
func (l *FailureLimiter) Fail(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if l.clients == nil {
		l.clients = map[string]*failures{}
	}
	f, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= l.MaxClients {
			l.forget(now)
		}
		f = &failures{}
		l.clients[client] = f
	}
	f.level = f.drained(now, l.Refill) + 1
	f.last = now
}

func (l *FailureLimiter) forget(now time.Time) {
	for k, f := range l.clients {
		if f.drained(now, l.Refill) == 0 {
			delete(l.clients, k)
		}
	}
	if len(l.clients) >= l.MaxClients {
		clear(l.clients)
	}
}

// clientAddress is who a request comes from: the X-Real-IP that ingress-nginx
// sets to the peer it sees (overwriting the client's own), else the
// connection's peer. Only the ingress controller should reach this service.
func clientAddress(r *http.Request) string {
	if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ip != nil {
		return ip.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
