package authe2e

import (
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/dextest"
	"devgate.dev/devgate/test/nginxtest"
)

// TestOIDCSignInThroughDex signs in through a real Dex, as a browser does,
// to a private endpoint behind nginx: Dex's password form, the callback,
// the endpoint's code and session; and the refusals on the way.
func TestOIDCSignInThroughDex(t *testing.T) {
	dexBin := dextest.Find(t)
	nginxBin, modules := nginxtest.Find(t)
	ctrllog.SetLogger(testr.New(t))
	d := dextest.Start(t, dexBin, dexClients, dexUsers)
	cp := startControlPlane(t)
	f := &fixture{admin: kubernetes.NewForConfigOrDie(cp.Config), backend: nginxtest.NewBackend(t)}
	f.seed(t)
	// The connector, in devgate's own namespace, as an admin creates it.
	connector := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "dex", Namespace: usersNamespace},
		Type:       tokens.TypeOIDCConnector,
		StringData: map[string]string{
			tokens.KeyIssuer: d.Issuer, tokens.KeyClientID: dexClientID, tokens.KeyClientSecret: dexSecret,
			tokens.KeyRedirectURI: dexRedirectURI, "name": "Dex",
		},
	}
	if _, err := f.admin.CoreV1().Secrets(usersNamespace).Create(context.Background(), connector, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := startAuth(t, cp.Config, ln)
	ing := nginxtest.PrivateIngress(t, cfg, namespace)
	f.nginx = nginxtest.Start(t, nginxtest.Options{
		Bin: nginxBin, ModulesDir: modules, Domain: domain, Auth: ln.Addr().String(), Backend: f.backend.Addr,
		Endpoints: []nginxtest.Endpoint{nginxtest.EndpointFromIngress(t, ing.Spec.Rules[0].Host, ing.Annotations)},
	})
	web := "https://" + ing.Spec.Rules[0].Host
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return f.nginx.Browser(jar, domain)
	}

	t.Run("member signs in and reaches the endpoint", func(t *testing.T) {
		client := browser()
		authURL := startAtDex(t, client, web+"/app?tab=1")
		if !strings.HasPrefix(authURL, d.Issuer+"/auth?") {
			t.Fatalf("start sends to %s, not to Dex", authURL)
		}
		back := d.Login(t, client, authURL, dexMember, dexMemberPassword)
		res := get(t, client, back.String(), nil)
		loc := wantCodeRedirect(t, res, web+"/app?tab=1")
		session := ""
		for _, sc := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, auth.CookieName+"=") {
				session = sc
			}
		}
		wantHostOnly(t, session)
		res = get(t, client, loc, nil)
		wantStatus(t, res, http.StatusOK)
		f.backend.MustSee(t, seen{User: dexMember, Email: dexMember, HasEmail: true, URI: strings.TrimPrefix(loc, web), Method: "GET"})
		// The endpoint's own session, from now on.
		wantStatus(t, get(t, client, web+"/next", nil), http.StatusOK)
		f.backend.MustSee(t, seen{User: dexMember, Email: dexMember, HasEmail: true, URI: "/next", Method: "GET"})

		res = get(t, client, "https://"+domain+"/auth/whoami", map[string]string{"Accept": "application/json"})
		var who struct{ User, Method string }
		if err := json.NewDecoder(res.Body).Decode(&who); err != nil || res.StatusCode != http.StatusOK || who.User != dexMember || who.Method != "Dex" {
			t.Fatalf("whoami: %d %+v %v", res.StatusCode, who, err)
		}

		// The code was Dex's to redeem once: presented again, with a
		// fresh sign-in's state, Dex refuses it and the page says so.
		other := browser()
		fresh := d.Login(t, other, startAtDex(t, other, web+"/again"), dexMember, dexMemberPassword)
		replay := *fresh
		q := replay.Query()
		q.Set("code", back.Query().Get("code"))
		replay.RawQuery = q.Encode()
		res = get(t, other, replay.String(), nil)
		wantStatus(t, res, http.StatusBadRequest)
		if page := readAll(t, res); !strings.Contains(page, "used already") {
			t.Fatalf("replayed code:\n%s", page)
		}
		f.backend.MustNotSee(t)
	})
	t.Run("user without access: 403", func(t *testing.T) {
		client := browser()
		back := d.Login(t, client, startAtDex(t, client, web+"/"), dexOutsider, dexOutsiderPass)
		loc := wantCodeRedirect(t, get(t, client, back.String(), nil), web+"/")
		wantStatus(t, get(t, client, loc, nil), http.StatusForbidden)
		f.backend.MustNotSee(t)
	})
	t.Run("tampered state: 400", func(t *testing.T) {
		client := browser()
		back := d.Login(t, client, startAtDex(t, client, web+"/"), dexMember, dexMemberPassword)
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		res := get(t, client, back.String(), nil)
		wantStatus(t, res, http.StatusBadRequest)
		if page := readAll(t, res); !strings.Contains(page, "state mismatch") {
			t.Fatalf("tampered state:\n%s", page)
		}
		for _, c := range res.Cookies() {
			if c.Name == auth.CookieName && c.Value != "" {
				t.Fatal("a tampered state set a session")
			}
		}
	})
	t.Run("ID token for another audience: refused", func(t *testing.T) {
		other := otherAudienceToken(t, d)
		d.Swap.Store(&other)
		defer d.Swap.Store(nil)
		client := browser()
		back := d.Login(t, client, startAtDex(t, client, web+"/"), dexMember, dexMemberPassword)
		res := get(t, client, back.String(), nil)
		wantStatus(t, res, http.StatusUnauthorized)
		if page := readAll(t, res); !strings.Contains(page, "audience") {
			t.Fatalf("another audience's token:\n%s", page)
		}
		f.backend.MustNotSee(t)
	})
	t.Run("connectors are re-read when they change", func(t *testing.T) {
		ctx := context.Background()
		secrets := f.admin.CoreV1().Secrets(usersNamespace)
		second := connector.DeepCopy()
		second.Name, second.StringData["name"] = "second", "Second Dex"
		broken := connector.DeepCopy()
		broken.Name, broken.StringData["name"] = "broken", "Broken"
		delete(broken.StringData, tokens.KeyClientSecret)
		for _, s := range []*corev1.Secret{broken, second} {
			if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		page := func() string {
			return readAll(t, get(t, browser(), "https://"+domain+"/auth/signin", nil))
		}
		waitFor := func(what string, ok func(string) bool) string {
			t.Helper()
			deadline := time.Now().Add(15 * time.Second)
			for {
				p := page()
				if ok(p) {
					return p
				}
				if time.Now().After(deadline) {
					t.Fatalf("the sign-in page did not show %s within 15s:\n%s", what, p)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		p := waitFor("the new connector", func(p string) bool { return strings.Contains(p, "Sign in with Second Dex") })
		if strings.Contains(p, "Sign in with Broken") || !strings.Contains(p, "Sign in with Dex") {
			t.Fatalf("the invalid connector is offered, or the first is gone:\n%s", p)
		}
		if err := secrets.Delete(ctx, "second", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor("the connector removed", func(p string) bool { return !strings.Contains(p, "Second Dex") })
		_ = secrets.Delete(ctx, "broken", metav1.DeleteOptions{})
	})
	t.Run("Dex stopped: 502 naming the connector", func(t *testing.T) {
		client := browser()
		res := get(t, client, web+"/", map[string]string{"Accept": "text/html"})
		signin := wantSigninRedirect(t, res, web+"/")
		page := readAll(t, get(t, client, signin.String(), nil))
		m := connectorLink.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no Dex button:\n%s", page)
		}
		d.Stop()
		start, _ := signin.Parse(html.UnescapeString(m[1]))
		res = get(t, client, start.String(), nil)
		wantStatus(t, res, http.StatusBadGateway)
		if page := readAll(t, res); !strings.Contains(page, "Dex") || !strings.Contains(page, "cannot be reached") {
			t.Fatalf("stopped provider:\n%s", page)
		}
	})
}
