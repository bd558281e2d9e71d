package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"devgate.dev/devgate/internal/configsource"
)

func TestRoutes(t *testing.T) {
	s := &Server{
		opts: Options{CookieSecret: testSecret, AccessCacheTTL: time.Second, SessionMaxAge: time.Hour,
			FailureBurst: 10, FailureRefill: time.Second, Logger: logr.Discard()},
		config: configsource.Static(testConfig()),
	}
	// The real clock: the fixtures' tokens were created an hour before
	// testNow, so only the ServiceAccount token is valid here.
	h := s.routes(standardStore(), standardReviewer())
	get := func(path string, header map[string]string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for path, want := range map[string]int{
		"/auth/verify?namespace=team-a": 200,
		"/verify?namespace=team-a":      200,
		"/auth/verify?namespace=team-b": 403,
		"/auth/signin":                  200,
		"/signin":                       200,
		"/healthz":                      200,
		"/readyz":                       503,
		"/auth/other":                   404,
	} {
		if got := get(path, bearer(saToken)); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
	s.synced.Store(true)
	if got := get("/readyz", nil); got != 200 {
		t.Errorf("/readyz once synced: %d", got)
	}
}

func TestNewRefusesShortSecret(t *testing.T) {
	if _, err := New(Options{CookieSecret: make([]byte, MinSecretLength-1)}); err == nil {
		t.Fatal("a 31-byte cookie secret was accepted")
	}
}
