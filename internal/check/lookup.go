package check

import (
	"slices"

	"devgate.dev/devgate/policies"
)

// manifestLookup answers policies.Lookup from the manifests given to check, in
// place of the webhook's informer cache: the cluster is what --old describes,
// with every -f object applied over it. Two manifests that carry the same
// token label are thereby caught before either reaches a cluster.
type manifestLookup struct {
	byToken map[string][]string // token label value -> sorted "namespace/name"
}

var _ policies.Lookup = manifestLookup{}

// newLookup indexes the ServiceAccounts of old and current; a current object
// replaces the old object of the same apiVersion, kind, namespace and name.
func newLookup(old, current []*object) manifestLookup {
	state := map[string]*object{}
	var order []string
	for _, set := range [][]*object{old, current} {
		for _, o := range set {
			if o.gvk != serviceAccountGVK || o.name == "" {
				continue
			}
			k := o.key()
			if _, seen := state[k]; !seen {
				order = append(order, k)
			}
			state[k] = o
		}
	}
	l := manifestLookup{byToken: map[string][]string{}}
	for _, k := range order {
		o := state[k]
		if !o.hasToken {
			continue
		}
		l.byToken[o.token] = append(l.byToken[o.token], o.namespace+"/"+o.name)
	}
	for token, names := range l.byToken {
		slices.Sort(names)
		l.byToken[token] = slices.Compact(names)
	}
	return l
}

// ServiceAccountsWithToken implements policies.Lookup. The list includes the
// object under admission when it carries the token, as the webhook's cache
// does on UPDATE: policies skip their own namespace/name. It returns a copy,
// since policies run concurrently.
func (l manifestLookup) ServiceAccountsWithToken(token string) []string {
	return slices.Clone(l.byToken[token])
}
