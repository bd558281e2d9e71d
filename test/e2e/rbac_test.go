package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"devgate.dev/devgate/test/chartrender"
)

// rbacCall is one API call as RBAC names it.
type rbacCall struct{ group, resource, verb string }

func (c rbacCall) String() string { return c.verb + " " + c.resource + "." + c.group }

// apiCalls records the resource calls devgate's server makes through its
// client, so the suite can compare them with the chart's RBAC.
type apiCalls struct {
	mu   sync.Mutex
	seen map[rbacCall]bool
}

func (a *apiCalls) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if c, ok := callOf(r); ok {
			a.mu.Lock()
			if a.seen == nil {
				a.seen = map[rbacCall]bool{}
			}
			a.seen[c] = true
			a.mu.Unlock()
		}
		return next.RoundTrip(r)
	})
}

func (a *apiCalls) calls() []rbacCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]rbacCall, 0, len(a.seen))
	for c := range a.seen {
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y rbacCall) int { return strings.Compare(x.String(), y.String()) })
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// callOf names a request the way the API server's authorizer does: group,
// resource (with subresource) and verb. Non-resource paths (/readyz, discovery)
// are not RBAC-on-resources and are skipped.
func callOf(r *http.Request) (rbacCall, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return rbacCall{}, false
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:] // a namespaced resource; "namespaces/x" alone is the namespace itself
	}
	resource, name := parts[0], ""
	if len(parts) >= 2 {
		name = parts[1]
	}
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	verb := ""
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case name != "":
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if name == "" {
			verb = "deletecollection"
		}
	default:
		return rbacCall{}, false
	}
	return rbacCall{group: group, resource: resource, verb: verb}, true
}

// grants expands RBAC rules into the calls they allow.
func grants(rules []rbacv1.PolicyRule) map[rbacCall]bool {
	out := map[rbacCall]bool{}
	for _, rule := range rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				for _, v := range rule.Verbs {
					out[rbacCall{group: g, resource: res, verb: v}] = true
				}
			}
		}
	}
	return out
}

// grantedWithoutCall are the grants the suite cannot see used, each with why
// it is needed all the same.
var grantedWithoutCall = map[rbacCall]string{
	{"", "services", "list"}:                                   informerList,
	{"networking.k8s.io", "ingresses", "list"}:                 informerList,
	{"", "serviceaccounts", "list"}:                            informerList,
	{"", "namespaces", "list"}:                                 informerList,
	{"events.k8s.io", "events", "patch"}:                       "the event recorder patches an Event into a series when the same event repeats within minutes",
	{"networking.k8s.io", "ingresses", "create"}:               "the controller's server-side apply that creates an Ingress is a PATCH, which the API server authorizes as create too",
	{"gateway.networking.k8s.io", "httproutes", "list"}:        informerList,
	{"gateway.networking.k8s.io", "referencegrants", "list"}:   informerList,
	{"gateway.networking.k8s.io", "httproutes", "create"}:      httpRouteWrites,
	{"gateway.networking.k8s.io", "referencegrants", "create"}: httpRouteWrites,
}

const httpRouteWrites = "the controller's server-side apply that creates an HTTPRoute or the ReferenceGrant is a PATCH, which the API server authorizes as create too"

const informerList = "an informer's initial list; client-go streams it through the watch where the API server supports it, and falls back to a list otherwise"

// rbacIsWhatTheCodeCalls compares the chart's ClusterRole for `devgate serve`
// with the calls the server made during the suite, which ran it as the
// chart's ServiceAccount: every call must be granted (or the server would
// have failed), and every grant must have been used, so the chart holds no
// permission the code does not need. Leader election (a Lease and Events in
// the release namespace, in a Role of its own) is not exercised here: the
// suite runs one server without it; test/faults tests the election.
func rbacIsWhatTheCodeCalls(calls *apiCalls) features.Feature {
	return features.New("the chart's RBAC is exactly what devgate calls").
		Assess("devgate deletes the Ingress of a Service whose annotation goes", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustKubectl(t, service("gone"), "apply", "-f", "-")
			eventually(t, 30*time.Second, func() error {
				return cfg.Client().Resources().Get(ctx, "gone", tenant, &networkingv1.Ingress{})
			})
			mustKubectl(t, "", "-n", tenant, "annotate", "service", "gone", "dev.okteto.com/auto-ingress-")
			eventually(t, 30*time.Second, func() error {
				if err := cfg.Client().Resources().Get(ctx, "gone", tenant, &networkingv1.Ingress{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("Ingress gone still there: %v", err)
				}
				return nil
			})
			return ctx
		}).
		Assess("every call is granted and every grant is used", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			out, err := chartrender.Template(ctx, release, releaseNS, "--values", filepath.Join(s.dir, "values.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := chartrender.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			var role rbacv1.ClusterRole
			if err := chartrender.Convert(chartrender.Find(objs, "ClusterRole", release), &role); err != nil {
				t.Fatal(err)
			}
			granted := grants(role.Rules)
			used := map[rbacCall]bool{}
			for _, c := range calls.calls() {
				used[c] = true
				if !granted[c] {
					t.Errorf("devgate called %s, which the chart's ClusterRole does not grant", c)
				}
			}
			for c := range granted {
				if reason, ok := grantedWithoutCall[c]; ok {
					t.Logf("%s is granted without being called here: %s", c, reason)
					continue
				}
				if !used[c] {
					t.Errorf("the chart's ClusterRole grants %s, which devgate never called", c)
				}
			}
			t.Logf("calls made by devgate serve: %v", calls.calls())
			return ctx
		}).Feature()
}
