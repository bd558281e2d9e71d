package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"devgate.dev/devgate/internal/configsource"
)

func objectMeta(ns, name string, annotations map[string]string, owner *metav1.OwnerReference) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.Namespace, m.Name, m.Annotations = ns, name, annotations
	if owner != nil {
		m.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return m
}

func TestEndpointsOfObjects(t *testing.T) {
	yes := true
	byService := &metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: "web", Controller: &yes}
	byOther := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &yes}
	for _, tc := range []struct {
		name  string
		parse func(*metav1.PartialObjectMetadata) []Endpoint
		obj   *metav1.PartialObjectMetadata
		want  []Endpoint
	}{
		{"public service", serviceEndpoints, objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoint": "https://web-a.example.com", "dev.okteto.com/auto-ingress": "true"}, nil),
			[]Endpoint{{URL: "https://web-a.example.com", Kind: "Service", Name: "web"}}},
		{"private service", serviceEndpoints, objectMeta("a", "api", map[string]string{
			"devgate.dev/endpoint": "https://api-a.example.com", "dev.okteto.com/auto-ingress": "private"}, nil),
			[]Endpoint{{URL: "https://api-a.example.com", Kind: "Service", Name: "api", Private: true}}},
		{"service hidden from the UI", serviceEndpoints, objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoint": "https://web-a.example.com", "dev.okteto.com/hide-from-ui": "true"}, nil), nil},
		{"hide-from-ui other than true shows", serviceEndpoints, objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoint": "https://web-a.example.com", "dev.okteto.com/hide-from-ui": "false"}, nil),
			[]Endpoint{{URL: "https://web-a.example.com", Kind: "Service", Name: "web"}}},
		{"service without endpoint", serviceEndpoints, objectMeta("a", "db", nil, nil), nil},
		{"a script is no link", serviceEndpoints, objectMeta("a", "x", map[string]string{
			"devgate.dev/endpoint": "javascript:alert(1)"}, nil), nil},
		{"ingress with several hosts", ingressEndpoints, objectMeta("a", "docs", map[string]string{
			"devgate.dev/endpoints": "https://docs-a.example.com, https://a.example.com,"}, nil),
			[]Endpoint{{URL: "https://docs-a.example.com", Kind: "Ingress", Name: "docs"}, {URL: "https://a.example.com", Kind: "Ingress", Name: "docs"}}},
		{"private ingress", ingressEndpoints, objectMeta("a", "admin", map[string]string{
			"devgate.dev/endpoints": "https://admin-a.example.com", "dev.okteto.com/private": "true"}, nil),
			[]Endpoint{{URL: "https://admin-a.example.com", Kind: "Ingress", Name: "admin", Private: true}}},
		{"ingress hidden from the UI", ingressEndpoints, objectMeta("a", "admin", map[string]string{
			"devgate.dev/endpoints": "https://admin-a.example.com", "dev.okteto.com/hide-from-ui": "true"}, nil), nil},
		{"the ingress of a service is the service's", ingressEndpoints, objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoints": "https://web-a.example.com"}, byService), nil},
		{"an ingress of another controller shows", ingressEndpoints, objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoints": "https://web-a.example.com"}, byOther),
			[]Endpoint{{URL: "https://web-a.example.com", Kind: "Ingress", Name: "web"}}},
		{"private HTTPRoute", routeEndpoints("HTTPRoute"), objectMeta("a", "app", map[string]string{
			"devgate.dev/endpoints": "https://app-a.example.com", "dev.okteto.com/private": "true"}, nil),
			[]Endpoint{{URL: "https://app-a.example.com", Kind: "HTTPRoute", Name: "app", Private: true}}},
		{"the HTTPRoute of a service is the service's", routeEndpoints("HTTPRoute"), objectMeta("a", "web", map[string]string{
			"devgate.dev/endpoints": "https://web-a.example.com"}, byService), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the informer stores: the trimmed object.
			trimmed, _ := trimEndpointObject(tc.obj)
			if got := tc.parse(trimmed.(*metav1.PartialObjectMetadata)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEndpointIndexFollowsEvents(t *testing.T) {
	x := newEndpointIndex(serviceEndpoints)
	h := x.eventHandler()
	web := objectMeta("a", "web", map[string]string{"devgate.dev/endpoint": "https://web-a.example.com"}, nil)
	api := objectMeta("a", "api", map[string]string{"devgate.dev/endpoint": "https://api-a.example.com"}, nil)
	h.OnAdd(web, true)
	h.OnAdd(api, true)
	h.OnAdd(objectMeta("b", "web", map[string]string{"devgate.dev/endpoint": "https://web-b.example.com"}, nil), true)
	urls := func(ns string) string {
		var out []string
		for _, e := range x.NamespaceEndpoints(ns) {
			out = append(out, e.URL)
		}
		return strings.Join(out, " ")
	}
	if got := urls("a"); got != "https://api-a.example.com https://web-a.example.com" {
		t.Fatalf("namespace a: %q", got)
	}
	hiddenWeb := web.DeepCopy()
	hiddenWeb.Annotations[AnnotationHideFromUI] = "true"
	h.OnUpdate(web, hiddenWeb)
	if got := urls("a"); got != "https://api-a.example.com" {
		t.Fatalf("after hiding web: %q", got)
	}
	h.OnDelete(api)
	if got := urls("a"); got != "" {
		t.Fatalf("after deleting api: %q", got)
	}
	if got := urls("b"); got != "https://web-b.example.com" {
		t.Fatalf("namespace b: %q", got)
	}
}

// staticNamespaces is a namespace cache.
type staticNamespaces []string

func (s staticNamespaces) NamespaceNames(context.Context) ([]string, error) { return s, nil }

func (s staticNamespaces) NamespaceExists(_ context.Context, name string) (bool, error) {
	for _, ns := range s {
		if ns == name {
			return true, nil
		}
	}
	return false, nil
}

// staticAdmins is the admin check: the users listed are admins.
type staticAdmins []string

func (a staticAdmins) IsAdmin(_ context.Context, id Identity) (bool, error) {
	for _, u := range a {
		if u == id.User {
			return true, nil
		}
	}
	return false, nil
}

// dashboardFixture is the dashboard over the standard fixtures: alice
// (memberToken) may use team-a; team-b and secret-project are others'.
type dashboardFixture struct {
	store    *fakeStore
	sessions Sessions
	now      time.Time
	base     *pageBase
	dash     *dashboardHandler
}

func newDashboardFixture(_ testing.TB, reviewer AccessReviewer) *dashboardFixture {
	f := &dashboardFixture{store: standardStore(), sessions: Sessions{Secret: testSecret}, now: testNow}
	clock := func() time.Time { return f.now }
	cfg := configsource.Static(testConfig())
	resolver := &Resolver{Store: f.store, Config: cfg, Now: clock}
	f.base = &pageBase{auth: &Authenticator{Resolver: resolver, Sessions: f.sessions, Codes: &CodeLedger{MaxEntries: 100}},
		secret: testSecret, config: cfg, publicURL: func() string { return "https://okteto.example.com/auth" },
		limiter: &FailureLimiter{Burst: 3, Refill: time.Minute, MaxClients: 100, Now: clock},
		admins:  staticAdmins{"system:serviceaccount:team-a:ci"}, now: clock, log: logr.Discard()}
	services := newEndpointIndex(serviceEndpoints)
	ingresses := newEndpointIndex(ingressEndpoints)
	for _, o := range []*metav1.PartialObjectMetadata{
		objectMeta("team-a", "web", map[string]string{"devgate.dev/endpoint": "https://web-team-a.okteto.example.com"}, nil),
		objectMeta("team-a", "api", map[string]string{"devgate.dev/endpoint": "https://api-team-a.okteto.example.com",
			"dev.okteto.com/auto-ingress": "private"}, nil),
		objectMeta("team-b", "payroll", map[string]string{"devgate.dev/endpoint": "https://payroll-team-b.okteto.example.com"}, nil),
		objectMeta("secret-project", "launch", map[string]string{"devgate.dev/endpoint": "https://launch-secret-project.okteto.example.com",
			"dev.okteto.com/auto-ingress": "private"}, nil),
	} {
		services.set(o)
	}
	ingresses.set(objectMeta("team-a", "docs", map[string]string{"devgate.dev/endpoints": "https://docs-team-a.okteto.example.com"}, nil))
	ingresses.set(objectMeta("secret-project", "plans", map[string]string{"devgate.dev/endpoints": "https://plans-secret-project.okteto.example.com"}, nil))
	f.dash = &dashboardHandler{pageBase: f.base, namespaces: staticNamespaces{"team-a", "team-b", "secret-project", "kube-system"},
		access: reviewer, cluster: reviewer, sources: []EndpointSource{services, ingresses},
		ready: func() (bool, string) { return true, "" }}
	return f
}

func dashboardGet(header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/auth/", nil)
	r.Header.Set("X-Real-IP", "192.0.2.30")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

// TestDashboardShowsOnlyAccessibleNamespaces is the rule that matters: the
// endpoints, names and namespaces of a namespace the user may not get
// Services in appear nowhere in the answer.
func TestDashboardShowsOnlyAccessibleNamespaces(t *testing.T) {
	f := newDashboardFixture(t, standardReviewer())
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"html", bearer(memberToken)},
		{"json", withHeader(bearer(memberToken), "Accept", "application/json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(f.dash, dashboardGet(tc.header))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			body := w.Body.String()
			for _, want := range []string{"team-a", "https://web-team-a.okteto.example.com", "https://api-team-a.okteto.example.com",
				"https://docs-team-a.okteto.example.com"} {
				mustContain(t, body, want)
			}
			for _, secret := range []string{"team-b", "payroll", "secret-project", "launch", "plans", "kube-system"} {
				if strings.Contains(body, secret) {
					t.Errorf("the answer names %q, of a namespace alice may not access:\n%s", secret, body)
				}
			}
		})
	}
}

func TestDashboardPage(t *testing.T) {
	f := newDashboardFixture(t, standardReviewer())
	w := serve(f.dash, dashboardGet(bearer(memberToken)))
	body := w.Body.String()
	// The private endpoint, and only it, carries the lock with its text.
	api := body[strings.Index(body, "https://api-team-a"):]
	api = api[:strings.Index(api, "</li>")]
	mustContain(t, api, `aria-label="private"`)
	mustContain(t, api, `<title>private</title>`)
	if strings.Count(body, `aria-label="private"`) != 1 {
		t.Errorf("%d locks, want 1 (api only):\n%s", strings.Count(body, `aria-label="private"`), body)
	}
	mustContain(t, body, `<a class="url" href="https://web-team-a.okteto.example.com">`)
	mustContain(t, body, `Service <code>web</code>`)
	mustContain(t, body, `Ingress <code>docs</code>`)
	mustContain(t, body, `name="viewport"`)
	mustContain(t, body, `<link rel="stylesheet" href="/auth/style.css">`)
	for _, external := range []string{"<script", "http://", "//fonts.", "cdn"} {
		if strings.Contains(body, external) {
			t.Errorf("the page has %q", external)
		}
	}
	csp := w.Header().Get("Content-Security-Policy")
	mustContain(t, csp, "default-src 'none'")
	mustContain(t, csp, "style-src 'self'")
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("the page may be cached")
	}
	// Under no-referrer, browsers send the forms with Origin: null.
	if rp := w.Header().Get("Referrer-Policy"); rp != "same-origin" || !strings.Contains(body, `<meta name="referrer" content="same-origin">`) {
		t.Errorf("Referrer-Policy %q: the forms' Origin would not be sent", rp)
	}
	// alice is no admin: no admin link.
	if strings.Contains(body, "/admin/users") {
		t.Error("a non-admin's page links to Admin -> Users")
	}
}

func TestDashboardJSON(t *testing.T) {
	f := newDashboardFixture(t, standardReviewer())
	w := serve(f.dash, dashboardGet(withHeader(bearer(memberToken), "Accept", "application/json")))
	var got dashboardView
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v: %s", err, w.Body)
	}
	want := dashboardView{User: "alice@example.com", Namespaces: []namespaceView{{Name: "team-a", Endpoints: []Endpoint{
		{URL: "https://api-team-a.okteto.example.com", Kind: "Service", Name: "api", Private: true},
		{URL: "https://web-team-a.okteto.example.com", Kind: "Service", Name: "web"},
		{URL: "https://docs-team-a.okteto.example.com", Kind: "Ingress", Name: "docs"},
	}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDashboardSignIn(t *testing.T) {
	f := newDashboardFixture(t, standardReviewer())
	// No credentials: a browser goes to the sign-in page and comes back.
	w := serve(f.dash, dashboardGet(nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/auth/signin?rd="+url.QueryEscape("https://okteto.example.com/auth/") {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	// A script gets 401.
	if w := serve(f.dash, dashboardGet(map[string]string{"Accept": "application/json"})); w.Code != http.StatusUnauthorized {
		t.Fatalf("JSON without credentials: %d", w.Code)
	}
	// A refused token is 401 and counts as a failure.
	if w := serve(f.dash, dashboardGet(bearer(unknownToken))); w.Code != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", w.Code)
	}
	// The sign-in session opens the page.
	session := f.sessions.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), f.now.Add(time.Hour))
	w = serve(f.dash, dashboardGet(cookieHeader(session)))
	if w.Code != http.StatusOK {
		t.Fatalf("with the sign-in session: %d", w.Code)
	}
	mustContain(t, w.Body.String(), "alice@example.com")
	// An endpoint session (another host's) or an expired one is none.
	for _, v := range []string{
		f.sessions.EncodeEndpoint(DigestOf(memberToken), uidFor(DigestOf(memberToken)), f.now.Add(time.Hour), "web-team-a.okteto.example.com", "team-a"),
		f.sessions.EncodeSignin(DigestOf(memberToken), uidFor(DigestOf(memberToken)), f.now.Add(-time.Second)),
	} {
		if w := serve(f.dash, dashboardGet(cookieHeader(v))); w.Code != http.StatusSeeOther {
			t.Errorf("cookie %q: %d, want the sign-in redirect", v[:3], w.Code)
		}
	}
	// Not a redirect target the sign-in page accepts (a loopback public
	// URL): the sign-in page without rd.
	f.base.publicURL = func() string { return "http://127.0.0.1:8082/auth" }
	if w := serve(f.dash, dashboardGet(nil)); w.Header().Get("Location") != "/auth/signin" {
		t.Errorf("loopback public URL: Location %q", w.Header().Get("Location"))
	}
}

func TestDashboardUndecidedNamespacesAreLeftOut(t *testing.T) {
	r := standardReviewer()
	r.err = errBoom
	f := newDashboardFixture(t, r)
	w := serve(f.dash, dashboardGet(bearer(memberToken)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, "could not be checked")
	for _, ns := range []string{"team-a", "team-b", "secret-project"} {
		if strings.Contains(body, ns) {
			t.Errorf("an undecided namespace %s is shown", ns)
		}
	}
}

func TestDashboardNotReady(t *testing.T) {
	f := newDashboardFixture(t, standardReviewer())
	f.dash.ready = func() (bool, string) { return false, "The endpoint list is loading; try again in a moment." }
	w := serve(f.dash, dashboardGet(bearer(memberToken)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "loading")
}

func TestDashboardClusterWideAccess(t *testing.T) {
	// A user who may get Services everywhere is decided by one review.
	r := &fakeReviewer{allowed: map[string][]string{"": {"system:serviceaccount:devgate:root"}}}
	f := newDashboardFixture(t, r)
	f.store.accounts = append(f.store.accounts, serviceAccount("devgate", "root", "root-Vb8nM2xQ4wE6rT1y"))
	w := serve(f.dash, dashboardGet(withHeader(bearer("root-Vb8nM2xQ4wE6rT1y"), "Accept", "application/json")))
	var got dashboardView
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	var names []string
	for _, ns := range got.Namespaces {
		names = append(names, ns.Name)
	}
	// kube-system is not managed by devgate: never listed.
	if strings.Join(names, ",") != "secret-project,team-a,team-b" || r.calls != 1 {
		t.Fatalf("namespaces %v after %d reviews; want the three managed ones after 1", names, r.calls)
	}
}

func TestStylesheet(t *testing.T) {
	w := httptest.NewRecorder()
	styleHandler(w, httptest.NewRequest(http.MethodGet, "/auth/style.css", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	css := w.Body.String()
	for _, external := range []string{"@import", "url(", "@font-face"} {
		if strings.Contains(css, external) {
			t.Errorf("the stylesheet loads something: %q", external)
		}
	}
	mustContain(t, css, "@media")
}

// BenchmarkDashboard renders the page of a user with 200 namespaces and
// 2,000 endpoints in a cluster of 1,000 namespaces and 10,000 endpoints,
// with the access decisions cached (as within the access cache TTL).
func BenchmarkDashboard(b *testing.B) {
	const clusterNamespaces, userNamespaces, perNamespace = 1000, 200, 10
	f := newDashboardFixture(b, nil)
	allowed := map[string][]string{}
	var namespaces staticNamespaces
	services := newEndpointIndex(serviceEndpoints)
	for i := range clusterNamespaces {
		ns := fmt.Sprintf("dev-%04d", i)
		namespaces = append(namespaces, ns)
		if i%(clusterNamespaces/userNamespaces) == 0 {
			allowed[ns] = []string{"alice@example.com"}
		}
		for j := range perNamespace {
			annotations := map[string]string{"devgate.dev/endpoint": fmt.Sprintf("https://svc%d-%s.okteto.example.com", j, ns)}
			if j%3 == 0 {
				annotations["dev.okteto.com/auto-ingress"] = "private"
			}
			services.set(objectMeta(ns, fmt.Sprintf("svc%d", j), annotations, nil))
		}
	}
	cached := &CachedReviewer{Next: &fakeReviewer{allowed: allowed}, Namespaces: namespaces, TTL: time.Hour, MaxEntries: 100_000, RefusalLimit: -1}
	f.dash.namespaces, f.dash.sources = namespaces, []EndpointSource{services}
	f.dash.access, f.dash.cluster = cached, cached
	req := func() *http.Request { return dashboardGet(bearer(memberToken)) }
	if w := serve(f.dash, req()); w.Code != 200 || strings.Count(w.Body.String(), "<li>") != userNamespaces*perNamespace {
		b.Fatalf("status %d, %d endpoints", w.Code, strings.Count(w.Body.String(), "<li>"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		withClient(f.dash, fixtureProxies).ServeHTTP(w, req())
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func TestEndpointCacheNeedsListAndWatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		denied  string // "verb resource" refused
		missing string
	}{
		{"all granted", "", ""},
		{"no services", "list services", "list services"},
		{"no watch on ingresses", "watch ingresses", "watch ingresses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
				attrs := r.Spec.ResourceAttributes
				r.Status.Allowed = attrs.Verb+" "+attrs.Resource != tc.denied
				return true, r, nil
			})
			e := &endpointCache{client: cs, watched: []schema.GroupVersionResource{
				corev1.SchemeGroupVersion.WithResource("services"), networkingv1.SchemeGroupVersion.WithResource("ingresses")}}
			missing, err := e.missingPermission(context.Background())
			if err != nil || missing != tc.missing {
				t.Fatalf("missing %q, %v; want %q", missing, err, tc.missing)
			}
			if tc.missing == "" {
				return
			}
			// Without it the dashboard is off, says why, and run waits.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- e.run(ctx, logr.Discard()) }()
			s := &Server{endpoints: e}
			deadline := time.Now().Add(5 * time.Second)
			for e.state.Load() != endpointsForbidden && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if ok, msg := s.endpointsReady(); ok || !strings.Contains(msg, "may not list and watch") {
				t.Errorf("ready %v, %q", ok, msg)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
