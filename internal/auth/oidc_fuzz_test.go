package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzOIDCCallback: whatever query the provider's redirect brings, with a
// valid state cookie of this browser, the callback answers a page (never a
// 500), sets no session and redirects nowhere: only a code the provider
// issued for this sign-in does.
func FuzzOIDCCallback(f *testing.F) {
	for _, seed := range []string{
		"state=s0&code=abc",
		"state=s1&code=abc",
		"state=s0&error=access_denied&error_description=no",
		"state=s0&error=%00%ff<script>",
		"state=s0",
		"code=abc",
		"state=s0&state=s1&code=a&code=b",
		"%zz=1&state=s0",
	} {
		f.Add(seed)
	}
	fx := newOIDCFixture(f, nil)
	state := &http.Cookie{Name: StateCookieName + "_s0", Value: fx.sessions.encodeState(oidcState{
		Expires: fx.now.Add(time.Minute), Connector: testConnector, State: "s0", Nonce: "n0",
		Verifier: "verifier-verifier-verifier-verifier-verifier", Redirect: endpointURL})}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/auth/callback", nil)
		r.URL.RawQuery = query
		r.AddCookie(state)
		w := serve(fx.handler, r)
		if w.Code == http.StatusInternalServerError || w.Code < 400 {
			t.Fatalf("query %q: %d", query, w.Code)
		}
		if !strings.Contains(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "<p class=\"error\"") {
			t.Fatalf("query %q: %d without an error page:\n%s", query, w.Code, w.Body.String())
		}
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			if c.Name == CookieName {
				t.Fatalf("query %q set a session", query)
			}
		}
	})
}
