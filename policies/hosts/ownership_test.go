package hosts

import (
	"slices"
	"strings"
	"testing"
)

type namespaceSet []string

func (s namespaceSet) ManagedNamespace(name string) bool { return slices.Contains(s, name) }

// TestOwner: a host belongs to the existing managed namespace with the
// longest name its first label fits (SPEC 3).
func TestOwner(t *testing.T) {
	cases := []struct {
		name, label, self string
		existing          namespaceSet
		want              string
	}{
		{"the longer of two", "web-team-a", "a", namespaceSet{"a", "team-a"}, "team-a"},
		{"only the shorter exists", "web-team-a", "a", namespaceSet{"a"}, "a"},
		{"self counts as existing", "web-team-a", "a", nil, "a"},
		{"self is the longer", "web-team-a", "team-a", namespaceSet{"a"}, "team-a"},
		{"the label itself is a namespace", "web-team-a", "a", namespaceSet{"web-team-a", "team-a"}, "web-team-a"},
		{"no namespace fits", "web-team-a", "b", namespaceSet{"b", "team"}, ""},
		{"a prefix is no fit", "team-a-web", "a", namespaceSet{"team-a"}, ""},
		{"inner part is no fit", "web-team-a", "a", namespaceSet{"team"}, "a"},
		{"empty label", "", "a", namespaceSet{"a"}, ""},
		{"trailing dash", "web-", "a", namespaceSet{"web"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Owner(c.label, c.self, c.existing); got != c.want {
				t.Fatalf("Owner(%q, %q, %v) = %q, want %q", c.label, c.self, c.existing, got, c.want)
			}
		})
	}
}

func TestFits(t *testing.T) {
	for _, c := range []struct {
		label, ns string
		want      bool
	}{
		{"web-team-a", "team-a", true}, {"web-team-a", "a", true}, {"team-a", "team-a", true},
		{"web-team-a", "eam-a", false}, {"a", "team-a", false}, {"xa", "a", false}, {"-a", "a", true},
	} {
		if got := Fits(c.label, c.ns); got != c.want {
			t.Errorf("Fits(%q, %q) = %v, want %v", c.label, c.ns, got, c.want)
		}
	}
}

func TestCheckOwner(t *testing.T) {
	const domain = "okteto.example.com"
	if err := CheckOwner("web-team-a."+domain, "a", domain, namespaceSet{"team-a"}); err == nil ||
		err.Error() != `the host belongs to the namespace "team-a": "web-team-a" ends with "-team-a", and a host belongs to the existing namespace with the longest name it fits` {
		t.Fatalf("CheckOwner = %v", err)
	}
	if err := CheckOwner("web-team-a."+domain, "team-a", domain, namespaceSet{"a"}); err != nil {
		t.Fatalf("the owner is denied its host: %v", err)
	}
	if err := CheckOwner("web-team-a."+domain, "a", domain, nil); err != nil {
		t.Fatalf("without lookup: %v", err)
	}
}

// FuzzOwner holds Owner to its definition: the owner fits the label, exists
// (or is self), and no longer existing name fits it.
func FuzzOwner(f *testing.F) {
	f.Add("web-team-a", "a", "team-a,b")
	f.Add("a-b-c-d", "d", "c-d,b-c-d,a-b-c-d")
	f.Add("--", "-", "-,--")
	f.Fuzz(func(t *testing.T, label, self, names string) {
		existing := namespaceSet(strings.Split(names, ","))
		got := Owner(label, self, existing)
		exists := func(n string) bool { return n == self || existing.ManagedNamespace(n) }
		if got != "" && (!Fits(label, got) || !exists(got)) {
			t.Fatalf("Owner(%q, %q, %q) = %q, which does not fit or exist", label, self, names, got)
		}
		for _, n := range append([]string{self}, existing...) {
			if n != "" && Fits(label, n) && exists(n) && len(n) > len(got) {
				t.Fatalf("Owner(%q, %q, %q) = %q, but %q fits and is longer", label, self, names, got, n)
			}
		}
	})
}
