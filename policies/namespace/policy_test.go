package namespace_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/internal/hostindex"
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/namespace"
)

// cluster is a Lookup over a few namespaces and the hosts their Ingresses serve.
type cluster struct {
	policies.NoLookup
	namespaces []string
	uses       []policies.HostUse
}

func (c cluster) NamespaceExists(name string) bool { return slices.Contains(c.namespaces, name) }

func (c cluster) HostsFitting(ns string) []policies.HostUse {
	var out []policies.HostUse
	for _, u := range c.uses {
		for _, cand := range hostindex.Candidates(u.Host) {
			if cand == ns {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

func use(ns, name, host string) policies.HostUse {
	return policies.HostUse{Host: host, Kind: "Ingress", Namespace: ns, Name: name}
}

// TestNamespaceCreation: SPEC 3, creating a namespace is denied while an
// Ingress of another namespace serves a host the new namespace would own.
func TestNamespaceCreation(t *testing.T) {
	const d = ".okteto.example.com"
	eng := engine.New(namespace.New())
	cases := []struct {
		name    string
		create  string
		cfg     func(*config.Config)
		cluster cluster
		denied  []string // fragments of the one denial; nil: admitted
	}{
		{
			name:    "would take a shorter namespace's host",
			create:  "team-a",
			cluster: cluster{namespaces: []string{"a"}, uses: []policies.HostUse{use("a", "web", "web-team-a"+d)}},
			denied: []string{`metadata.name: Forbidden: a namespace "team-a" would own hosts that other namespaces already serve`,
				"Ingress a/web serves web-team-a.okteto.example.com", "choose another name"},
		},
		{
			name:    "would take the bare host",
			create:  "web-a",
			cluster: cluster{namespaces: []string{"a"}, uses: []policies.HostUse{use("a", "web", "web-a"+d)}},
			denied:  []string{"Ingress a/web serves web-a.okteto.example.com"},
		},
		{
			name:    "a longer namespace already owns the host",
			create:  "a",
			cluster: cluster{namespaces: []string{"team-a"}, uses: []policies.HostUse{use("team-a", "web", "web-team-a"+d)}},
		},
		{
			name:   "an even longer namespace keeps it",
			create: "team-a",
			cluster: cluster{namespaces: []string{"a", "web-team-a"},
				uses: []policies.HostUse{use("web-team-a", "root", "web-team-a"+d)}},
		},
		{
			name:    "hosts of other domains do not count",
			create:  "team-a",
			cluster: cluster{namespaces: []string{"a"}, uses: []policies.HostUse{use("a", "web", "web-team-a.example.org")}},
		},
		{
			name:    "an unmanaged namespace owns nothing",
			create:  "team-a",
			cfg:     func(c *config.Config) { c.ExcludedNamespaces = append(c.ExcludedNamespaces, "team-a") },
			cluster: cluster{namespaces: []string{"a"}, uses: []policies.HostUse{use("a", "web", "web-team-a"+d)}},
		},
		{
			name:    "nothing served",
			create:  "team-a",
			cluster: cluster{namespaces: []string{"a"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			raw, _ := json.Marshal(&corev1.Namespace{TypeMeta: typeMeta, ObjectMeta: objectMeta(c.create)})
			out := eng.Admit(engine.Input{Operation: policies.Create, Kind: corev1.SchemeGroupVersion.WithKind("Namespace"), Object: raw}, cfg, c.cluster)
			if c.denied == nil {
				if len(out.Denials) != 0 {
					t.Fatalf("denied: %v", out.Denials)
				}
				return
			}
			if len(out.Denials) != 1 || out.Denials[0].Type != field.ErrorTypeForbidden || out.Denials[0].Field != "metadata.name" {
				t.Fatalf("denials = %v, want one Forbidden at metadata.name", out.Denials)
			}
			for _, f := range c.denied {
				if !strings.Contains(out.Denials[0].Error(), f) {
					t.Errorf("denial %q lacks %q", out.Denials[0].Error(), f)
				}
			}
		})
	}
}

// TestNamespaceDenialIsBounded: a namespace that would take a thousand hosts
// gets a message of ten and a count.
func TestNamespaceDenialIsBounded(t *testing.T) {
	var uses []policies.HostUse
	for i := range 1000 {
		uses = append(uses, use("a", "web", "w"+strings.Repeat("x", i%40)+string(rune('a'+i%26))+"-team-a.okteto.example.com"))
	}
	errs := namespace.Validate("team-a", config.Default(), cluster{namespaces: []string{"a"}, uses: uses}, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, " and 990 more") {
		t.Fatalf("denial = %v", errs)
	}
}

var typeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}

func objectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
