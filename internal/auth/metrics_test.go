package auth

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	s, h := routesWith(testConfig()) // burst 3
	do := func(method, target string, header map[string]string, body string) int {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	steps := []struct {
		method, target string
		header         map[string]string
		body           string
		want           int
	}{
		{"GET", "/auth/verify?namespace=team-a", nil, "", 401},                              // no_credentials
		{"GET", "/verify?namespace=team-a", bearer(saToken), "", 200},                       // the alias is its own route
		{"GET", "/auth/verify?namespace=team-b", bearer(saToken), "", 403},                  // forbidden
		{"GET", "/auth/verify?namespace=Not_A_Namespace", bearer(saToken), "", 400},         // bad_request
		{"GET", "/auth/verify?namespace=team-a&x=" + strings.Repeat("z", 50), nil, "", 401}, // same route label
		{"POST", "/auth/signin", form, url.Values{"token": {saToken}}.Encode(), 200},        // a sign-in
		{"POST", "/auth/signin", map[string]string{"Content-Type": form["Content-Type"], "Origin": "https://evil.example"},
			url.Values{"token": {saToken}}.Encode(), 403}, // cross_origin
		{"POST", "/auth/signin", form, url.Values{"token": {""}}.Encode(), 400}, // no_credentials
		{"GET", "/auth/verify?namespace=team-a", bearer(unknownToken), "", 401}, // bad_credentials ×3
		{"GET", "/auth/verify?namespace=team-a", bearer(unknownToken), "", 401},
		{"POST", "/auth/signin", form, url.Values{"token": {unknownToken}}.Encode(), 401},
		{"GET", "/auth/verify?namespace=team-a", bearer(saToken), "", 401},           // rate_limited
		{"POST", "/auth/signin", form, url.Values{"token": {saToken}}.Encode(), 429}, // rate_limited
		{"GET", "/auth/no/such/" + strings.Repeat("p", 20), nil, "", 404},            // other
		{"GET", "/healthz", nil, "", 200},
	}
	for i, st := range steps {
		if got := do(st.method, st.target, st.header, st.body); got != st.want {
			t.Fatalf("step %d %s %s: %d, want %d", i, st.method, st.target, got, st.want)
		}
	}
	m := s.metrics
	for labels, want := range map[[2]string]float64{
		{"/auth/verify", "401"}: 5,
		{"/auth/verify", "403"}: 1,
		{"/auth/verify", "400"}: 1,
		{"/verify", "200"}:      1,
		{"/auth/signin", "200"}: 1,
		{"/auth/signin", "403"}: 1,
		{"/auth/signin", "400"}: 1,
		{"/auth/signin", "401"}: 1,
		{"/auth/signin", "429"}: 1,
		{"other", "404"}:        1,
		{"/healthz", "200"}:     1,
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(labels[0], labels[1])); got != want {
			t.Errorf("requests{path=%q,code=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	// Only the routes and "other": the raw URLs never become labels.
	if n := testutil.CollectAndCount(m.requests); n != 11 {
		t.Errorf("%d request series, want 11", n)
	}
	if n := testutil.CollectAndCount(m.duration); n != 5 {
		t.Errorf("%d duration series, want 5 (/auth/verify, /verify, /auth/signin, other, /healthz)", n)
	}
	for reason, want := range map[string]float64{
		refusalNoCredentials: 3, refusalBadCredentials: 3, refusalForbidden: 1, refusalBadRequest: 1,
		refusalCrossOrigin: 1, refusalRateLimited: 2,
	} {
		if got := testutil.ToFloat64(m.refusals.WithLabelValues(reason)); got != want {
			t.Errorf("refusals{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := testutil.ToFloat64(m.signins.WithLabelValues(signinToken)); got != 1 {
		t.Errorf("signins{method=token} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.invitations); got != 0 {
		t.Errorf("invitations accepted = %v", got)
	}
	if err := testutil.GatherAndCompare(m.registry, strings.NewReader(`
# HELP devgate_auth_rate_limited_clients Clients (IPv4 addresses, IPv6 /64s) currently over the failure limit, whose credentials are not looked at. Per replica.
# TYPE devgate_auth_rate_limited_clients gauge
devgate_auth_rate_limited_clients 1
`), "devgate_auth_rate_limited_clients"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(m.registry, "devgate_auth_requests_total", "devgate_auth_refusals_total",
		"devgate_auth_signins_total", "devgate_auth_invitations_accepted_total", "devgate_auth_request_duration_seconds"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// Each Server has a registry of its own.
	s2, _ := routesWith(testConfig())
	if got := testutil.ToFloat64(s2.metrics.requests.WithLabelValues("/auth/verify", "401")); got != 0 {
		t.Errorf("a second server shares the first's counts: %v", got)
	}
}

func TestServeMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, h := routesWith(testConfig())
	s.opts.MetricsListener = ln
	if err := s.listenMetrics(); err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/auth/verify?namespace=team-a", nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serveMetrics(ctx) }()
	res, err := http.Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	mustContain(t, string(body), `devgate_auth_requests_total{code="401",path="/auth/verify"} 1`)
	mustContain(t, string(body), `devgate_auth_invitations_accepted_total 0`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMetricsDisabled(t *testing.T) {
	for _, addr := range []string{"", "0"} {
		s, _ := routesWith(testConfig())
		s.opts.MetricsBindAddress = addr
		if err := s.listenMetrics(); err != nil || s.MetricsAddr() != nil {
			t.Fatalf("%q: %v %v", addr, err, s.MetricsAddr())
		}
		if err := s.serveMetrics(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
