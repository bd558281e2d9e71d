package hosts

import (
	"fmt"
	"iter"
	"strings"
)

// Ownership across namespaces (SPEC 3). `<label>-<namespace>` is ambiguous
// when one namespace's name ends with "-" + another's: `web-team-a` fits
// namespace team-a (label web) and namespace a (label web-team). Without a
// rule, a tenant of `a` could serve the endpoint of Service web in team-a. A
// host therefore belongs to the existing managed namespace with the longest
// name that its first label fits, and to no other.

// Namespaces tells which namespaces exist and are managed. The webhook backs
// it with its namespace cache; the CLI with the namespaces it was shown.
type Namespaces interface {
	// ManagedNamespace reports whether name is an existing managed namespace.
	ManagedNamespace(name string) bool
}

// Fits reports whether label fits namespace: it is the namespace itself or
// ends with "-" + namespace.
func Fits(label, namespace string) bool {
	if label == namespace {
		return true
	}
	return len(label) > len(namespace) && strings.HasSuffix(label, namespace) && label[len(label)-len(namespace)-1] == '-'
}

// FittingNames are the namespace names that label fits, longest first: the
// label itself and every suffix after a "-" (web-team-a: web-team-a,
// team-a, a). Owner picks the owner among them; the webhook's host index
// keys Ingresses by them.
func FittingNames(label string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := -1; i < len(label); i++ {
			if i >= 0 && label[i] != '-' {
				continue
			}
			if candidate := label[i+1:]; candidate != "" && !yield(candidate) {
				return
			}
		}
	}
}

// Owner is the namespace that owns a host whose first label is label: the
// longest name among the existing managed namespaces that label fits. self,
// the namespace asking, counts as existing whatever ns says (it is the
// namespace of the object under admission). Owner is "" when no namespace
// fits. It costs one lookup per "-" in the label, at most 32.
func Owner(label, self string, ns Namespaces) string {
	for candidate := range FittingNames(label) {
		if candidate == self || (ns != nil && ns.ManagedNamespace(candidate)) {
			return candidate
		}
	}
	return ""
}

// CheckOwner reports why namespace may not use host although hosts.Check
// admits it: the host belongs to a namespace with a longer name. host must
// have passed Check for namespace (one label under domain, fitting namespace).
func CheckOwner(host, namespace, domain string, ns Namespaces) error {
	label := strings.TrimSuffix(host, "."+domain)
	owner := Owner(label, namespace, ns)
	if owner == "" || owner == namespace {
		return nil
	}
	if owner == label {
		return fmt.Errorf("the host belongs to the namespace %q: it is that namespace's own host %s", owner, Host(owner, domain))
	}
	return fmt.Errorf("the host belongs to the namespace %q: %q ends with \"-%s\", and a host belongs to the existing namespace with the longest name it fits", owner, label, owner)
}
