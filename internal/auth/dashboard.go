package auth

import (
	"context"
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The dashboard (`<publicURL>/`): the endpoints of every namespace the
// signed-in user may `get services` in. Which namespaces those are is asked
// of the access layer namespace by namespace (one review per namespace and
// user every access cache TTL, after one cluster-wide review that settles
// it for users who may read Services everywhere); nothing is listed with
// the user's credentials, and nothing of a namespace refused, or not
// decided in time, reaches the page.

//go:embed dashboard.html
var dashboardHTML string

//go:embed admin_users.html
var adminUsersHTML string

//go:embed style.css
var styleCSS []byte

var dashboardPages = template.Must(template.Must(template.New("pages").Parse(dashboardHTML)).Parse(adminUsersHTML))

// NamespaceLister lists the namespaces that exist (from a cache).
type NamespaceLister interface {
	NamespaceNames(ctx context.Context) ([]string, error)
}

// NamespaceNames implements NamespaceLister over the Namespace cache.
func (s cacheStore) NamespaceNames(ctx context.Context) ([]string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := s.reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]string, len(list.Items))
	for i := range list.Items {
		out[i] = list.Items[i].Name
	}
	return out, nil
}

// dashboardParallelism is how many access decisions one page asks for at
// once: the access layer's share of one user, so none waits for a slot.
const dashboardParallelism = defaultMaxPerUser

// dashboardDeadline bounds the access decisions of one page.
const dashboardDeadline = 8 * time.Second

// pageBase is what every page of the dashboard needs: who is signed in,
// where links go, and how forms are protected.
type pageBase struct {
	auth      *Authenticator
	secret    []byte
	config    ConfigSource
	publicURL func() string
	limiter   *FailureLimiter
	admins    adminChecker
	// users is the users namespace: its ServiceAccounts are shown by name.
	users string
	now   func() time.Time
	log   logr.Logger
}

// displayName is how the pages name a user: a user of the users namespace
// by its name ("admin", not system:serviceaccount:devgate:admin).
func (p *pageBase) displayName(user string) string {
	if name, ok := strings.CutPrefix(user, "system:serviceaccount:"+p.users+":"); ok && p.users != "" {
		return name
	}
	return user
}

type adminChecker interface {
	IsAdmin(ctx context.Context, id Identity) (bool, error)
}

// viewer is the signed-in user of a request and how it proved it.
type viewer struct {
	Identity
	// session is the sign-in session cookie that authenticated the request,
	// "" for a bearer token: forms of a cookie's session need its form token.
	session string
}

// signedInUser reads a bearer token, else the sign-in session (a token's or
// an OIDC connector's). errNoCredentials: neither; a refusal: a bearer token
// that is not valid. A session cookie that is stale, forged or of a
// connector no longer in force counts as none: the browser signs in again.
func (p *pageBase) signedInUser(r *http.Request) (viewer, error) {
	if token, ok := bearerToken(r); ok {
		id, err := p.auth.Resolver.Resolve(r.Context(), DigestOf(token))
		return viewer{Identity: id}, err
	}
	now := p.now()
	for _, v := range sessionCookies(r) {
		if d, uid, _, err := p.auth.Sessions.DecodeSignin(v, now); err == nil {
			id, err := p.auth.Resolver.ResolveSession(r.Context(), d, uid)
			var why refusal
			if errors.As(err, &why) {
				continue
			}
			return viewer{Identity: id, session: v}, err
		}
		if sub, exp, err := p.auth.Sessions.DecodeOIDCSignin(v, now); err == nil && p.auth.connectorKnown(sub.Connector) == nil {
			return viewer{Identity: sub.identity(exp), session: v}, nil
		}
	}
	return viewer{}, errNoCredentials
}

// basePath is the path of the public URL ("/auth"): links and form actions
// stay on the host the page was served from (a port-forward's too).
func (p *pageBase) basePath() string {
	u, err := url.Parse(p.publicURL())
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// authenticate answers for a request without a signed-in user and reports
// whether it did: a browser goes to the sign-in page, back here afterwards
// when this page's URL is one the sign-in page may redirect to; a script or
// a refused bearer token gets 401.
func (p *pageBase) authenticate(w http.ResponseWriter, r *http.Request, back string) (viewer, bool) {
	client := clientAddress(r)
	if ok, _ := p.limiter.Allow(client); !ok {
		p.plainError(w, r, http.StatusTooManyRequests, "Too many failed attempts: try again later.")
		return viewer{}, false
	}
	v, err := p.signedInUser(r)
	var why refusal
	switch {
	case err == nil:
		return v, true
	case errors.As(err, &why) && !errors.Is(err, errNoCredentials):
		p.limiter.Fail(client)
		refused(r, refusalBadCredentials)
		p.plainError(w, r, http.StatusUnauthorized, "This token is not valid: it is unknown, disabled or expired.")
		return viewer{}, false
	case !errors.Is(err, errNoCredentials):
		p.log.Error(err, "resolving a credential failed", "client", client)
		p.plainError(w, r, http.StatusInternalServerError, "Signing in failed; try again later.")
		return viewer{}, false
	}
	refused(r, refusalNoCredentials)
	if wantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		p.plainError(w, r, http.StatusUnauthorized, "Sign in first, or send Authorization: Bearer <token>.")
		return viewer{}, false
	}
	signin := p.basePath() + "/signin"
	if rd, err := safeRedirect(strings.TrimRight(p.publicURL(), "/")+back, p.config.Current().Domain); err == nil {
		signin += "?rd=" + url.QueryEscape(rd)
	}
	http.Redirect(w, r, signin, http.StatusSeeOther)
	return viewer{}, false
}

// pageHeaders are the dashboard's securityHeaders.
func pageHeaders(w http.ResponseWriter) { securityHeaders(w, stylesheetCSP) }

// plainError answers an error as JSON or as a page.
func (p *pageBase) plainError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	p.render(w, status, "error", pageData{Title: http.StatusText(status), Base: p.basePath(), Error: msg})
}

// pageData is what every page template reads.
type pageData struct {
	Title  string
	Domain string
	Base   string
	User   string
	Admin  bool
	Error  string
	// CSRF is the form token of the forms on the page.
	CSRF string
	// Page is the page's own data.
	Page any
}

func (p *pageBase) render(w http.ResponseWriter, status int, name string, data pageData) {
	if data.Domain == "" {
		data.Domain = p.config.Current().Domain
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := dashboardPages.ExecuteTemplate(w, name, data); err != nil {
		p.log.Error(err, "rendering a page", "page", name)
	}
}

// isAdmin asks the admin check; a failed check counts as not an admin (the
// page just lacks the admin's link).
func (p *pageBase) isAdmin(ctx context.Context, id Identity) bool {
	if p.admins == nil {
		return false
	}
	ok, err := p.admins.IsAdmin(ctx, id)
	if err != nil {
		p.log.Error(err, "the admin check failed", "user", id.User)
	}
	return ok && err == nil
}

// dashboardHandler is GET <publicURL>/.
type dashboardHandler struct {
	*pageBase
	namespaces NamespaceLister
	// access decides namespace by namespace; cluster, asked first with the
	// namespace "", whether the user may get Services everywhere.
	access, cluster AccessReviewer
	sources         []EndpointSource
	// ready reports whether the sources are loaded; its message when not.
	ready func() (bool, string)
}

type namespaceView struct {
	Name      string     `json:"name"`
	Endpoints []Endpoint `json:"endpoints"`
}

type dashboardView struct {
	User       string          `json:"user"`
	Admin      bool            `json:"admin"`
	Namespaces []namespaceView `json:"namespaces"`
	// Incomplete: some namespaces could not be decided in time (none is
	// named: the user may have no access to them).
	Incomplete bool `json:"incomplete"`
}

func (h *dashboardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v, ok := h.authenticate(w, r, "/")
	if !ok {
		return
	}
	if ready, msg := h.ready(); !ready {
		w.Header().Set("Retry-After", "2")
		h.plainError(w, r, http.StatusServiceUnavailable, msg)
		return
	}
	view, err := h.view(r.Context(), v.Identity)
	if err != nil {
		h.log.Error(err, "listing namespaces failed")
		h.plainError(w, r, http.StatusInternalServerError, "The endpoint list is not available; try again later.")
		return
	}
	view.Admin = h.isAdmin(r.Context(), v.Identity)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, view)
		return
	}
	h.render(w, http.StatusOK, "dashboard", pageData{Title: "Endpoints", Base: h.basePath(), User: h.displayName(view.User), Admin: view.Admin, Page: view})
}

// view is the user's namespaces and their endpoints.
func (h *dashboardHandler) view(ctx context.Context, id Identity) (dashboardView, error) {
	view := dashboardView{User: id.User, Namespaces: []namespaceView{}}
	all, err := h.namespaces.NamespaceNames(ctx)
	if err != nil {
		return view, err
	}
	cfg := h.config.Current()
	candidates := make([]string, 0, len(all))
	for _, ns := range all {
		if cfg.Managed(ns) {
			candidates = append(candidates, ns)
		}
	}
	sort.Strings(candidates)
	allowed, incomplete := h.decide(ctx, id, candidates)
	view.Incomplete = incomplete
	for i, ns := range candidates {
		if !allowed[i] {
			continue
		}
		nv := namespaceView{Name: ns, Endpoints: []Endpoint{}}
		for _, src := range h.sources {
			nv.Endpoints = append(nv.Endpoints, src.NamespaceEndpoints(ns)...)
		}
		view.Namespaces = append(view.Namespaces, nv)
	}
	return view, nil
}

// decide returns, for each namespace, whether id may get Services in it,
// and whether some could not be decided (an error or the deadline: refused).
func (h *dashboardHandler) decide(ctx context.Context, id Identity, namespaces []string) ([]bool, bool) {
	allowed := make([]bool, len(namespaces))
	if ok, err := h.cluster.CanAccess(ctx, id, ""); err == nil && ok {
		for i := range allowed {
			allowed[i] = true
		}
		return allowed, false
	}
	ctx, cancel := context.WithTimeout(ctx, dashboardDeadline)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
		next   = make(chan int)
	)
	for range min(dashboardParallelism, len(namespaces)) {
		wg.Go(func() {
			for i := range next {
				ok, err := h.access.CanAccess(ctx, id, namespaces[i])
				if err != nil {
					mu.Lock()
					failed = true
					mu.Unlock()
					continue
				}
				allowed[i] = ok
			}
		})
	}
	for i := range namespaces {
		next <- i
	}
	close(next)
	wg.Wait()
	return allowed, failed
}

// styleHandler serves the pages' one stylesheet.
func styleHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "style.css", time.Time{}, strings.NewReader(string(styleCSS)))
}

// addDashboard registers the dashboard, Admin -> Users and the stylesheet
// under each prefix; without a namespace cache (unit tests of other routes)
// there is nothing to list and none is registered.
func (s *Server) addDashboard(mux *http.ServeMux, prefixes []string, store Store, reviewer AccessReviewer, a *Authenticator, limiter *FailureLimiter) {
	lister, ok := store.(NamespaceLister)
	if !ok {
		return
	}
	now := time.Now
	base := &pageBase{auth: a, secret: s.opts.CookieSecret, config: s.config, publicURL: s.publicURL,
		limiter: limiter, users: s.users, now: now, log: s.opts.Logger.WithName("dashboard")}
	if s.client != nil {
		base.admins = AdminReviewer{Client: s.client.AuthorizationV1().SubjectAccessReviews(), Namespace: s.users}
	}
	// Its own decisions, apart from /verify's: one page asks about every
	// namespace, and its refusals must not count against the user's
	// refused-namespace limit at /verify.
	access := &CachedReviewer{Next: reviewer, Namespaces: namespacesOf(store), TTL: s.opts.AccessCacheTTL,
		MaxEntries: 100_000, Now: now, RefusalLimit: -1}
	cluster := &CachedReviewer{Next: reviewer, TTL: s.opts.AccessCacheTTL, MaxEntries: 10_000, Now: now, RefusalLimit: -1}
	dash := &dashboardHandler{pageBase: base, namespaces: lister, access: access, cluster: cluster, ready: s.endpointsReady}
	if s.endpoints != nil {
		dash.sources = s.endpoints.sources
	}
	var users *adminUsersHandler
	if s.client != nil && base.admins != nil {
		users = &adminUsersHandler{pageBase: base, client: s.client, users: s.users, namespaces: namespacesOf(store)}
	}
	for _, prefix := range prefixes {
		mux.Handle("GET "+prefix+"/{$}", dash)
		mux.HandleFunc("GET "+prefix+"/style.css", styleHandler)
		if users != nil {
			users.register(mux, prefix)
		}
	}
}

// endpointsReady reports whether the endpoint list can be served, and why
// not.
func (s *Server) endpointsReady() (bool, string) {
	if s.endpoints == nil {
		return false, "The endpoint list is off."
	}
	switch s.endpoints.state.Load() {
	case endpointsReady:
		return true, ""
	case endpointsForbidden:
		return false, "The endpoint list is off: the auth service may not list and watch Services and Ingresses."
	case endpointsFailed:
		return false, "The endpoint list is off: its access check failed (see the auth service's log)."
	}
	return false, "The endpoint list is loading; try again in a moment."
}
