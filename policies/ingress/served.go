package ingress

import (
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// AnnotationServerAlias adds hostnames to the nginx server of the Ingress's
// hosts: ingress-nginx serves each alias exactly like a rule host.
const AnnotationServerAlias = NginxPrefix + "server-alias"

// ServerAliases are the hosts of ing's server-alias annotation, as
// ingress-nginx reads it: comma separated, spaces trimmed, empty ones skipped.
func ServerAliases(ing *networkingv1.Ingress) []string {
	v, ok := ing.Annotations[AnnotationServerAlias]
	if !ok {
		return nil
	}
	var aliases []string
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			aliases = append(aliases, a)
		}
	}
	return aliases
}

// ServedHosts are the hosts ing makes nginx serve, each once, in order: rule
// hosts, TLS hosts and server aliases. The webhook's index of hosts in use
// and `devgate check` read them to decide whether a new namespace would take
// a host another namespace already serves (SPEC 3).
func ServedHosts(ing *networkingv1.Ingress) []string {
	var out []string
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, r := range ing.Spec.Rules {
		add(r.Host)
	}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			add(h)
		}
	}
	for _, a := range ServerAliases(ing) {
		add(a)
	}
	return out
}
