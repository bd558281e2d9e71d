package auth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
)

func TestGenerateToken(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
	seen := map[string]bool{}
	counts := map[byte]int{}
	for range 2000 {
		tok, err := GenerateToken()
		if err != nil || !re.MatchString(tok) {
			t.Fatalf("token %q, %v", tok, err)
		}
		if seen[tok] {
			t.Fatalf("token %q twice", tok)
		}
		seen[tok] = true
		for i := range len(tok) {
			counts[tok[i]]++
		}
	}
	// 80000 characters over 62 symbols: every symbol shows up.
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want all 62", len(counts))
	}
}

func TestCodes(t *testing.T) {
	code, err := NewCode()
	if err != nil || len(code) != CodeLength || !wellFormedCode(code) {
		t.Fatalf("code %q (%d), %v", code, len(code), err)
	}
	other, _ := NewCode()
	if other == code {
		t.Fatal("two equal codes")
	}
	for _, bad := range []string{"", code[:42], code + "A", strings.Repeat("=", 43), strings.Repeat("a", 42) + "+"} {
		if wellFormedCode(bad) {
			t.Errorf("%q is well formed", bad)
		}
	}
	if InvitationLink("https://a.example/auth/", code) != "https://a.example/auth/invite/"+code {
		t.Errorf("link %s", InvitationLink("https://a.example/auth/", code))
	}
}

func TestValidNames(t *testing.T) {
	for _, ok := range []string{"bob", "a", "team-1", strings.Repeat("a", 63)} {
		if err := ValidUserName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Bob", "bob_1", "-bob", "bob.example", strings.Repeat("a", 64), "a@b"} {
		if ValidUserName(bad) == nil {
			t.Errorf("%q accepted as a user name", bad)
		}
	}
	got, err := ValidNamespaces([]string{"b", "a", "b"})
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("namespaces %v, %v", got, err)
	}
	if _, err := ValidNamespaces([]string{"ok", "Not_OK"}); err == nil {
		t.Error("invalid namespace accepted")
	}
}

func TestTokenCommand(t *testing.T) {
	want := `kubectl -n devgate get sa -l=dev.okteto.com/external-id=bob -o=jsonpath='{.items[0].metadata.labels.dev\.okteto\.com/token}'`
	if got := TokenCommand("devgate", "bob"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestInvitationExpiry(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bob", CreationTimestamp: metav1.NewTime(created)},
		Data: map[string][]byte{KeyNamespaces: []byte(" a, b ,")}}
	inv := invitationOf(s)
	if !inv.Expires.Equal(created.Add(DefaultInvitationTTL)) || strings.Join(inv.Namespaces, "|") != "a|b" {
		t.Errorf("default expiry/namespaces: %v %v", inv.Expires, inv.Namespaces)
	}
	s.Data[KeyExpires] = []byte("2026-01-02T00:00:00Z")
	if inv := invitationOf(s); !inv.Expires.Equal(created.Add(24 * time.Hour)) {
		t.Errorf("expires key: %v", inv.Expires)
	}
	s.Data[KeyExpires] = []byte("tomorrow")
	if inv := invitationOf(s); !inv.Expires.IsZero() {
		t.Errorf("an unreadable expiry must count as expired: %v", inv.Expires)
	}
}

// The cache keeps the code's digest, never the code, also when it
// transforms an object twice.
func TestTrimInvitationDropsTheCode(t *testing.T) {
	code, _ := NewCode()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bob", Namespace: "devgate",
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": code}},
		Type: TypeInvitation, Data: map[string][]byte{KeyCode: []byte(code), KeyNamespaces: []byte("a")}}
	once, _ := trimInvitation(s)
	twice, _ := trimInvitation(once)
	out := twice.(*corev1.Secret)
	if len(out.Data) != 0 || out.Annotations[inviteDigestAnnotation] != codeDigest(code) || len(out.Annotations) != 1 {
		t.Fatalf("trimmed: %+v", out)
	}
}

func TestEnsureAdmin(t *testing.T) {
	cs := fake.NewClientset()
	var logs bytes.Buffer
	log := funcr.New(func(p, a string) { logs.WriteString(p + a + "\n") }, funcr.Options{})
	ctx := context.Background()
	created, err := EnsureAdmin(ctx, cs, "devgate", log)
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	sa, err := cs.CoreV1().ServiceAccounts("devgate").Get(ctx, AdminUser, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := sa.Labels[tokens.LabelToken]
	if len(tok) != 40 || sa.Labels[tokens.LabelExternalID] != "admin" {
		t.Fatalf("admin labels %v", sa.Labels)
	}
	if strings.Contains(logs.String(), tok) || !strings.Contains(logs.String(), "dev\\\\.okteto\\\\.com/token") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if created, err := EnsureAdmin(ctx, cs, "devgate", logr.Discard()); err != nil || created {
		t.Fatalf("second start: %v %v", created, err)
	}
	again, _ := cs.CoreV1().ServiceAccounts("devgate").Get(ctx, AdminUser, metav1.GetOptions{})
	if again.Labels[tokens.LabelToken] != tok {
		t.Fatal("a second start changed the admin token")
	}
}

func TestInvitationsStore(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "admin", Namespace: "devgate"}})
	store := Invitations{Client: cs, Namespace: "devgate"}
	inv, created, err := store.Create(ctx, "bob", []string{"b", "a"}, "me", 0)
	if err != nil || !created || !wellFormedCode(inv.Code) || strings.Join(inv.Namespaces, ",") != "a,b" {
		t.Fatalf("create: %+v %v %v", inv, created, err)
	}
	again, created, err := store.Create(ctx, "bob", nil, "me", 0)
	if err != nil || created || again.Code != inv.Code {
		t.Fatalf("pending: %+v %v %v", again, created, err)
	}
	if _, _, err := store.Create(ctx, "admin", nil, "me", 0); !errors.Is(err, ErrUserExists) {
		t.Fatalf("existing user: %v", err)
	}
	if _, _, err := store.Create(ctx, "Bad_Name", nil, "me", 0); err == nil {
		t.Fatal("invalid name accepted")
	}
	list, err := store.List(ctx)
	if err != nil || len(list) != 1 || list[0].User != "bob" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := store.Revoke(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := store.Revoke(ctx, "bob"); !errors.Is(err, ErrNoInvitation) {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestCheckInviteUsage(t *testing.T) {
	for _, o := range []InviteOptions{
		{}, {User: "Bob"}, {User: "bob", List: true}, {List: true, Namespaces: []string{"a"}},
		{User: "bob", Namespaces: []string{"A"}}, {Revoke: "B_"},
	} {
		if CheckInviteUsage(o) == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	for _, o := range []InviteOptions{{User: "bob", Namespaces: []string{"a"}}, {List: true}, {Revoke: "bob"}} {
		if err := CheckInviteUsage(o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// fakeIndex is the invitation cache over a fake clientset's objects.
type fakeIndex struct{ a *acceptor }

func (f fakeIndex) InvitationNames(ctx context.Context, digest string) ([]string, error) {
	list, err := f.a.client.CoreV1().Secrets(f.a.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range list.Items {
		t, _ := trimInvitation(&list.Items[i])
		if t.(*corev1.Secret).Annotations[inviteDigestAnnotation] == digest {
			out = append(out, list.Items[i].Name)
		}
	}
	return out, nil
}

func (f fakeIndex) CodeUsed(ctx context.Context, digest string) (bool, error) {
	list, err := f.a.client.CoreV1().ServiceAccounts(f.a.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, sa := range list.Items {
		if sa.Annotations[AnnotationInvitation] == digest {
			return true, nil
		}
	}
	return false, nil
}

func invitePages(t *testing.T) (*inviteHandler, *fake.Clientset, http.Handler) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})
	a := &acceptor{client: cs, namespace: "devgate", now: time.Now, log: logr.Discard()}
	a.index = fakeIndex{a}
	cfg := config.Default()
	h := &inviteHandler{accept: a, secret: testSecret, config: configsource.Static(cfg),
		publicURL: func() string { return "https://okteto.example.com/auth" }, users: "devgate",
		limiter: &FailureLimiter{Burst: 3, Refill: time.Hour, MaxClients: 10, Now: time.Now}, log: logr.Discard()}
	mux := http.NewServeMux()
	mux.Handle("/auth/invite/{code}", h)
	return h, cs, mux
}

func TestInvitePages(t *testing.T) {
	h, cs, mux := invitePages(t)
	ctx := context.Background()
	inv, _, err := Invitations{Client: cs, Namespace: "devgate"}.Create(ctx, "bob", []string{"team-a"}, "admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		r.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	path := "/auth/invite/" + inv.Code
	if w := do("GET", path, "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "Join as bob") {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	if w := do("GET", path, "", map[string]string{"Accept": "application/json"}); w.Code != 200 || !strings.Contains(w.Body.String(), `"user":"bob"`) {
		t.Fatalf("GET JSON: %d %s", w.Code, w.Body)
	}
	csrf := h.csrfToken(inv.Code)
	if w := do("POST", path, "csrf=nope", nil); w.Code != http.StatusForbidden {
		t.Errorf("bad form token: %d", w.Code)
	}
	if w := do("POST", path, "csrf="+csrf, map[string]string{"Origin": "https://evil.example"}); w.Code != http.StatusForbidden {
		t.Errorf("cross-origin: %d", w.Code)
	}
	other, _ := NewCode()
	if h.csrfToken(other) == csrf {
		t.Fatal("form tokens do not depend on the code")
	}
	w := do("POST", path, "csrf="+csrf, map[string]string{"Origin": "https://okteto.example.com", "Accept": "application/json"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"user":"bob"`) || !strings.Contains(w.Body.String(), `"namespaces":["team-a"]`) {
		t.Fatalf("accept: %d %s", w.Code, w.Body)
	}
	if _, err := cs.RbacV1().RoleBindings("team-a").Get(ctx, "devgate-member-bob", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := do("POST", path, "csrf="+csrf, nil); w.Code != http.StatusGone {
		t.Errorf("replay: %d", w.Code)
	}
	// Unknown codes are 404 and count as failures: the 4th is limited.
	for i := range 3 {
		if w := do("GET", "/auth/invite/"+other, "", nil); w.Code != 404 {
			t.Fatalf("unknown #%d: %d", i, w.Code)
		}
	}
	if w := do("GET", "/auth/invite/"+other, "", nil); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after 3 unknown codes: %d", w.Code)
	}
}

func TestTokenSignInDisabled(t *testing.T) {
	cfg := config.Default()
	off := false
	cfg.Auth.TokenSignIn = &off
	_, h := routesWith(cfg)
	r := httptest.NewRequest("GET", "/auth/signin", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || strings.Contains(w.Body.String(), `name="token"`) {
		t.Fatalf("GET: %d, form shown: %v", w.Code, strings.Contains(w.Body.String(), `name="token"`))
	}
	r = httptest.NewRequest("POST", "/auth/signin", strings.NewReader("token="+saToken))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("POST: %d", w.Code)
	}
}

func TestSameOriginAs(t *testing.T) {
	for o, want := range map[string]bool{
		"https://okteto.example.com":      true,
		"https://OKTETO.example.com":      true,
		"http://okteto.example.com":       false,
		"https://okteto.example.com:8443": false,
		"https://evil.example":            false,
		"null":                            false,
	} {
		if got := sameOriginAs(o, "https://okteto.example.com/auth"); got != want {
			t.Errorf("%s: %v", o, got)
		}
	}
}

// Through the Server's routes: an accepted invitation is counted, and the
// route's label is its pattern, never the code.
func TestInvitationRoutesAndMetric(t *testing.T) {
	cs := fake.NewClientset()
	a := &acceptor{client: cs, namespace: "devgate", now: time.Now, log: logr.Discard()}
	a.index = fakeIndex{a}
	s := &Server{
		opts: Options{CookieSecret: testSecret, AccessCacheTTL: time.Second, SessionMaxAge: time.Hour,
			FailureBurst: 10, FailureRefill: time.Second, Logger: logr.Discard()},
		config: configsource.Static(testConfig()), users: "devgate", client: cs, invites: a,
	}
	h := s.routes(standardStore(), standardReviewer())
	inv, _, err := Invitations{Client: cs, Namespace: "devgate"}.Create(context.Background(), "bob", nil, "admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	ih := &inviteHandler{secret: testSecret}
	for _, path := range []string{"/auth/invite/" + inv.Code, "/invite/" + inv.Code} {
		r := httptest.NewRequest("GET", path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d", path, w.Code)
		}
	}
	r := httptest.NewRequest("POST", "/auth/invite/"+inv.Code, strings.NewReader("csrf="+ih.csrfToken(inv.Code)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Welcome, bob") {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(s.metrics.invitations); got != 1 {
		t.Fatalf("invitations accepted = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/auth/invite/{code}", "200")); got != 2 {
		t.Fatalf("requests{path=/auth/invite/{code},code=200} = %v, want 2", got)
	}
	r = httptest.NewRequest("GET", "/auth/invitations", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("/auth/invitations without credentials: %d", w.Code)
	}
}
