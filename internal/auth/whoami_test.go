package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestWhoami(t *testing.T) {
	f := newOIDCFixture(t, map[string]string{keyGroupsPrefix: "corp-"})
	signedIn := responseCookie(t, f.signIn(t, "https://okteto.example.com/"), CookieName)

	w := f.get("/auth/whoami", map[string]string{"Accept": "application/json"}, signedIn)
	var got session
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusOK || err != nil {
		t.Fatalf("whoami: %d %s", w.Code, w.Body.String())
	}
	if got.User != "alice@example.com" || strings.Join(got.Groups, ",") != "corp-devs" || got.Method != "Corp SSO" ||
		!got.Expires.Equal(f.now.Add(8*time.Hour)) {
		t.Fatalf("whoami: %+v", got)
	}
	w = f.get("/auth/whoami", nil, signedIn)
	for _, want := range []string{"alice@example.com", "corp-devs", "Corp SSO", "Sign out"} {
		mustContain(t, w.Body.String(), want)
	}
	// A token's session says token.
	tok := &http.Cookie{Name: CookieName, Value: f.sessions.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), f.now.Add(time.Hour))}
	w = f.get("/auth/whoami", map[string]string{"Accept": "application/json"}, tok)
	if !strings.Contains(w.Body.String(), `"method":"token"`) || !strings.Contains(w.Body.String(), `"user":"alice@example.com"`) {
		t.Fatalf("whoami of a token session: %s", w.Body.String())
	}
	if w := f.get("/auth/whoami", map[string]string{"Accept": "application/json"}); w.Code != http.StatusUnauthorized {
		t.Fatalf("whoami without a session: %d", w.Code)
	}
	// An endpoint's session is not a sign-in session.
	endpoint := &http.Cookie{Name: CookieName, Value: f.sessions.EncodeOIDCEndpoint(oidcSubject{User: "alice@example.com", Connector: testConnector}, f.now.Add(time.Hour), hostA, "team-a")}
	if w := f.get("/auth/whoami", nil, endpoint); w.Code != http.StatusUnauthorized {
		t.Fatalf("whoami with an endpoint session: %d", w.Code)
	}
}

func TestSignout(t *testing.T) {
	f := newOIDCFixture(t, nil)
	session := responseCookie(t, f.signIn(t, "https://okteto.example.com/"), CookieName)
	post := func(form url.Values, header map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/auth/signout", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		r.AddCookie(session)
		return serve(f.handler, r)
	}
	page := f.get("/auth/signout", nil, session).Body.String()
	i := strings.Index(page, `name="csrf" value="`)
	if i < 0 {
		t.Fatalf("no sign-out form:\n%s", page)
	}
	csrf := page[i+len(`name="csrf" value="`):]
	csrf = csrf[:strings.IndexByte(csrf, '"')]
	if w := post(url.Values{}, nil); w.Code != http.StatusForbidden {
		t.Fatalf("sign-out without the form's token: %d", w.Code)
	}
	if w := post(url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}); w.Code != http.StatusForbidden {
		t.Fatalf("sign-out from another origin: %d", w.Code)
	}
	w := post(url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://okteto.example.com"})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Signed out") {
		t.Fatalf("sign-out: %d %s", w.Code, w.Body.String())
	}
	cleared := false
	for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
		cleared = cleared || (c.Name == CookieName && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatalf("sign-out does not clear the session: %v", w.Header().Values("Set-Cookie"))
	}
}
