package nginxtest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"
)

// Browser is a client as a browser is after DNS: https://<domain> and its
// subdomains reach nginx, every other host (an identity provider on
// loopback) is dialled as named. It keeps cookies in jar and follows no
// redirects, so that a test sees each step.
func (n *Nginx) Browser(jar http.CookieJar, domain string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				if host == domain || strings.HasSuffix(host, "."+domain) {
					addr = n.Addr
				}
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: n.Pool, MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
