package auth

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/lru"
)

// FailureLimiter limits refused credentials per client, a leaky bucket: each
// failure adds one, one drains every Refill, and a client whose bucket holds
// Burst failures is not heard until it drains below. Guessing tokens through
// it costs Refill per guess.
//
// An IPv6 client is its /64: one host commonly holds a whole /64, and would
// otherwise have a fresh bucket for every address it picks.
type FailureLimiter struct {
	Burst  int
	Refill time.Duration
	// MaxClients bounds the memory: the clients are kept in an LRU of that
	// size, so a flood of new clients evicts only the least recently seen
	// (asking counts as being seen), never the whole table.
	MaxClients int
	Now        func() time.Time

	mu      sync.Mutex
	clients *lru.Cache // bucket key → *failures
	// limited holds the clients over the limit at their last failure, with
	// when they may be heard again; a subset of clients (evicted with them).
	limited map[string]time.Time
}

type failures struct {
	level float64 // failures not yet drained at last
	last  time.Time
}

// drained is f's level at now.
func (f *failures) drained(now time.Time, refill time.Duration) float64 {
	return math.Max(0, f.level-float64(now.Sub(f.last))/float64(refill))
}

// init creates the LRU; l.mu is held.
func (l *FailureLimiter) init() {
	if l.clients != nil {
		return
	}
	l.limited = map[string]time.Time{}
	l.clients = lru.NewWithEvictionFunc(max(1, l.MaxClients), func(key lru.Key, _ any) {
		// Called from within Add, under l.mu.
		delete(l.limited, key.(string))
	})
}

// bucket is the key of client's bucket: an IPv4 address, an IPv6 /64, or
// the string itself when it is no address.
func bucket(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	a = a.Unmap()
	if a.Is6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return a.String()
}

// Allow reports whether client may present credentials now, and if not,
// when it may again.
func (l *FailureLimiter) Allow(client string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	v, ok := l.clients.Get(bucket(client))
	if !ok {
		return true, 0
	}
	level := v.(*failures).drained(l.Now(), l.Refill)
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
	l.init()
	key := bucket(client)
	now := l.Now()
	f := &failures{}
	if v, ok := l.clients.Get(key); ok {
		f = v.(*failures)
	} else {
		l.clients.Add(key, f) // evicts the least recently seen when full
	}
	f.level = f.drained(now, l.Refill) + 1
	f.last = now
	if over := f.level - float64(l.Burst) + 1; over > 0 {
		l.limited[key] = now.Add(time.Duration(over * float64(l.Refill)))
	}
}

// Len is the number of clients remembered, at most MaxClients.
func (l *FailureLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		return 0
	}
	return l.clients.Len()
}

// Limited is the number of clients not heard right now: over the limit and
// not yet drained below it.
func (l *FailureLimiter) Limited() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	for k, until := range l.limited {
		if !now.Before(until) {
			delete(l.limited, k)
		}
	}
	return len(l.limited)
}

// clientAddress is who a request comes from, as found by withClient (see
// clientIP); a request that did not pass through it is its connection's peer.
func clientAddress(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(string); ok {
		return c
	}
	return clientIP(r, nil)
}

// clientIP is who r comes from: its connection's peer, unless that peer is
// a trusted proxy. Then it is the right-most X-Forwarded-For entry that is
// not itself trusted (the entries to its left were written by the client or
// by proxies nobody vouches for), else X-Real-IP, else the peer. A malformed
// (or empty) entry ends the walk, as if there were no more: nothing to its
// left can be believed.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		peer = host
	}
	pa, err := netip.ParseAddr(peer)
	if err != nil {
		return peer
	}
	pa = pa.Unmap().WithZone("")
	if !isTrusted(pa, trusted) {
		return pa.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := forwardedAddr(strings.TrimSpace(entries[j]))
			if !ok {
				goto realIP
			}
			if !isTrusted(a, trusted) {
				return a.String()
			}
		}
	}
realIP:
	if a, ok := forwardedAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ok {
		return a.String()
	}
	return pa.String()
}

// forwardedAddr parses one X-Forwarded-For or X-Real-IP value: an address,
// possibly with a port or in brackets.
func forwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
