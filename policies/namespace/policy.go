// Package namespace is devgate's policy for Namespaces (SPEC 3): a new
// namespace must not take hosts that another namespace already serves.
//
// A host belongs to the existing managed namespace with the longest name that
// its first label fits (package hosts). Creating namespace team-a therefore
// makes web-team-a.<domain> team-a's, even though namespace a may serve it
// already (label web-team). Without this rule a tenant who may create
// namespaces could claim another's endpoints, or a tenant of a could keep
// one that now belongs to team-a; the rule denies the creation instead, so
// no namespace can pre-claim or steal another's hosts.
package namespace

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Policy is the Namespace policy, a Validator.
type Policy struct{}

// New returns the Namespace policy.
func New() *Policy { return &Policy{} }

var _ policies.Validator = (*Policy)(nil)

// Name implements policies.Policy.
func (*Policy) Name() string { return "namespace-hosts" }

// Handles implements policies.Policy: v1 Namespaces on CREATE, validating.
// Renaming is impossible and deletion only frees hosts, so CREATE is the only
// operation that can move a host's owner.
func (*Policy) Handles() []policies.Rule {
	return []policies.Rule{{
		GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Namespace"),
		Resource:         "namespaces",
		Operations:       []policies.Operation{policies.Create},
		Validating:       true,
		ClusterScoped:    true,
	}}
}

// maxListed bounds the hosts a denial lists: the message must stay readable.
const maxListed = 10

// Validate implements policies.Validator.
func (*Policy) Validate(req *policies.Request) policies.Result {
	ns, ok := req.Object.(*corev1.Namespace)
	if !ok || ns == nil {
		return policies.Result{}
	}
	return policies.Result{Denials: Validate(ns.Name, req.Config, req.Lookup, req.Owners())}
}

// Validate denies creating namespace name while an object of another
// namespace serves a host that name would own. lookup knows the hosts in use;
// owners the namespaces that exist.
func Validate(name string, cfg *config.Config, lookup policies.Lookup, owners hosts.Namespaces) field.ErrorList {
	if name == "" || !cfg.Managed(name) || lookup == nil {
		return nil
	}
	var taken []policies.HostUse
	for _, use := range lookup.HostsFitting(name) {
		if use.Namespace == name {
			continue
		}
		label, under := strings.CutSuffix(use.Host, "."+cfg.Domain)
		if !under || strings.Contains(label, ".") || !hosts.Fits(label, name) {
			continue // not an endpoint host of the domain that name would fit
		}
		// With name created, the owner is the longest existing name the
		// label fits, name included: only when that is name does the host
		// move away from the namespace serving it.
		if hosts.Owner(label, name, owners) == name {
			taken = append(taken, use)
		}
	}
	if len(taken) == 0 {
		return nil
	}
	sort.Slice(taken, func(i, j int) bool { return taken[i].String() < taken[j].String() })
	listed := make([]string, 0, min(len(taken), maxListed))
	for _, u := range taken[:min(len(taken), maxListed)] {
		listed = append(listed, u.String())
	}
	more := ""
	if len(taken) > maxListed {
		more = fmt.Sprintf(" and %d more", len(taken)-maxListed)
	}
	return field.ErrorList{field.Forbidden(field.NewPath("metadata", "name"), fmt.Sprintf(
		"a namespace %q would own hosts that other namespaces already serve (a host belongs to the existing namespace with the longest name it fits): %s%s; choose another name, or remove those hosts first",
		name, strings.Join(listed, "; "), more))}
}
