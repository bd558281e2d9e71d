package auth

import (
	"context"
	"net/http"
	"net/netip"
	"sync/atomic"

	"devgate.dev/devgate/policies/config"
)

// trustedProxies is auth.trustedProxies of the configuration in force,
// parsed once per configuration (the source hands out a new pointer on
// every reload), not once per request.
type trustedProxies struct {
	config ConfigSource
	parsed atomic.Pointer[parsedProxies]
}

type parsedProxies struct {
	from     *config.Config
	prefixes []netip.Prefix
}

func (t *trustedProxies) current() []netip.Prefix {
	cfg := t.config.Current()
	if p := t.parsed.Load(); p != nil && p.from == cfg {
		return p.prefixes
	}
	prefixes, err := cfg.Auth.TrustedProxyPrefixes()
	if err != nil {
		// Unreachable: the configuration is validated when read. Trusting
		// nobody is the safe answer all the same.
		prefixes = nil
	}
	t.parsed.Store(&parsedProxies{from: cfg, prefixes: prefixes})
	return prefixes
}

type clientKey struct{}

// withClient finds who each request comes from (clientIP under the trusted
// proxies in force) once, for clientAddress.
func withClient(next http.Handler, proxies *trustedProxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := clientIP(r, proxies.current())
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
	})
}
