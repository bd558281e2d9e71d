package authe2e

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"devgate.dev/devgate/test/dextest"
)

// Dex's static password users. The hashes are bcrypt (cost 10) of these
// test-only passwords, which open nothing but this test's Dex.
const (
	dexMember         = member // alice@example.com: may get services in team-a
	dexMemberPassword = "pw-Alice-2026-devgate"
	dexMemberHash     = "$2a$10$PjlLt9H4wW.yinbkShnzleOyWJnTqSnWBlnOHWFG/v8vW.r7NYRUq"
	dexOutsider       = "bob@example.com" // no RBAC anywhere
	dexOutsiderPass   = "pw-Bob-2026-devgate"
	dexOutsiderHash   = "$2a$10$KxLiUynt7YvLPYfD2E/qW.ypc1T8.YQV4p8Bsjo/sxGvbcYO4INS."

	dexClientID    = "devgate"
	dexSecret      = "dex-client-secret-Lk93Jd02"
	otherClientID  = "other"
	otherSecret    = "other-client-secret-Pq81Zn47"
	otherRedirect  = "https://other.example/callback"
	dexRedirectURI = "https://" + domain + "/auth/callback"
)

// dexClients and dexUsers are the test's Dex: devgate's client and another
// relying party's, a member and an outsider.
var (
	dexClients = []dextest.Client{
		{ID: dexClientID, Secret: dexSecret, Name: "devgate", RedirectURIs: []string{dexRedirectURI}},
		{ID: otherClientID, Secret: otherSecret, Name: "other", RedirectURIs: []string{otherRedirect}},
	}
	dexUsers = []dextest.User{
		{Email: dexMember, Hash: dexMemberHash, Username: "alice", UserID: "08a8684b-db88-4b73-90a9-3cd1661f5466"},
		{Email: dexOutsider, Hash: dexOutsiderHash, Username: "bob", UserID: "5d3c8e7a-52b9-4e1c-9f0e-7d1f0a6b2c44"},
	}
)

var connectorLink = regexp.MustCompile(`<a class="connector" href="([^"]+)">Sign in with Dex</a>`)

func get(t *testing.T, client *http.Client, rawURL string, header map[string]string) *http.Response {
	t.Helper()
	return dextest.Get(t, client, rawURL, header)
}

// startAtDex follows a private endpoint to the sign-in page and its "Sign in
// with Dex" link, and returns the provider's authorization URL.
func startAtDex(t *testing.T, client *http.Client, endpoint string) string {
	t.Helper()
	res := get(t, client, endpoint, map[string]string{"Accept": "text/html"})
	signin := wantSigninRedirect(t, res, endpoint)
	res = get(t, client, signin.String(), nil)
	page := readAll(t, res)
	m := connectorLink.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in page %d without the Dex button:\n%s", res.StatusCode, page)
	}
	start, _ := signin.Parse(html.UnescapeString(m[1]))
	res = get(t, client, start.String(), nil)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: %d\n%s", res.StatusCode, readAll(t, res))
	}
	return res.Header.Get("Location")
}

// otherAudienceToken is an ID token Dex issues to the client "other": real,
// signed by Dex, for another audience than devgate's.
func otherAudienceToken(t *testing.T, d *dextest.Server) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {otherClientID}, "redirect_uri": {otherRedirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"other-state"}, "nonce": {"other-nonce"}}
	back := d.Login(t, client, d.Issuer+"/auth?"+q.Encode(), dexMember, dexMemberPassword)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {otherRedirect}}
	req, _ := http.NewRequest(http.MethodPost, d.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(otherClientID, otherSecret)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		t.Fatalf("other client's token: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	return tok.IDToken
}
