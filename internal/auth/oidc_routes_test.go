package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/internal/configsource"
)

// TestOIDCRoutes runs a sign-in through the service's own route table, at
// both prefixes, and checks what it counts.
func TestOIDCRoutes(t *testing.T) {
	p := newFakeProvider(t, time.Now())
	set := NewConnectors(logr.Discard())
	s := &Server{
		opts: Options{CookieSecret: testSecret, AccessCacheTTL: time.Second, SessionMaxAge: time.Hour,
			FailureBurst: 10, FailureRefill: time.Second, Logger: logr.Discard()},
		config:     configsource.Static(testConfig()),
		connectors: set,
	}
	h := s.routes(standardStore(), standardReviewer())
	set.Replace([]corev1.Secret{*connectorSecret(testConnector, p.URL, nil), *connectorSecret("broken", "ftp://x", nil)})
	do := func(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, prefix := range []string{"/auth", ""} {
		w := do(prefix + "/oidc/" + testConnector + "/start?rd=" + url.QueryEscape(endpointURL))
		if w.Code != http.StatusFound {
			t.Fatalf("%s start: %d %s", prefix, w.Code, w.Body.String())
		}
		authURL, _ := url.Parse(w.Header().Get("Location"))
		state := responseCookie(t, w, StateCookieName+"_"+authURL.Query().Get("state"))
		q := url.Values{"state": {authURL.Query().Get("state")}, "code": {p.issue(t, authURL.String())}}
		if w := do(prefix+"/callback?"+q.Encode(), state); w.Code != http.StatusSeeOther {
			t.Fatalf("%s callback: %d %s", prefix, w.Code, w.Body.String())
		}
		if w := do(prefix + "/callback?state=x&code=y"); w.Code != http.StatusBadRequest {
			t.Fatalf("%s callback without the state cookie: %d", prefix, w.Code)
		}
		if w := do(prefix + "/whoami"); w.Code != http.StatusUnauthorized {
			t.Fatalf("%s/whoami: %d", prefix, w.Code)
		}
	}
	m := s.metrics
	if got := testutil.ToFloat64(m.signins.WithLabelValues(signinOIDC)); got != 2 {
		t.Fatalf("devgate_auth_signins_total{method=oidc} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.signins.WithLabelValues(signinToken)); got != 0 {
		t.Fatalf("devgate_auth_signins_total{method=token} = %v, want 0", got)
	}
	if v, i := testutil.ToFloat64(set.gauge.WithLabelValues("valid")), testutil.ToFloat64(set.gauge.WithLabelValues("invalid")); v != 1 || i != 1 {
		t.Fatalf("devgate_auth_connectors valid %v invalid %v", v, i)
	}
	if n, err := testutil.GatherAndCount(m.registry, "devgate_auth_connectors"); err != nil || n != 2 {
		t.Fatalf("devgate_auth_connectors series: %d %v", n, err)
	}
}
