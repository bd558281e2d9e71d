package hosts

import "strings"

// Names that reach inside the cluster from the ingress controller, whatever
// namespace asks: the Service and Ingress policies both deny them, an
// ExternalName Service's externalName and an Ingress's connection target
// alike. Names are compared in lower case and without a trailing dot.

// APIServerName reports whether name is the Kubernetes API server's Service:
// kubernetes, kubernetes.default, or anything under kubernetes.default.
func APIServerName(name string) bool {
	return name == "kubernetes" || name == "kubernetes.default" || strings.HasPrefix(name, "kubernetes.default.")
}

// LoopbackName reports whether name is localhost or under it: the ingress
// controller itself.
func LoopbackName(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// InsideClusterDomain reports whether name is a Service's or anything else's
// name in the cluster's DNS: under .svc, the cluster domain, or under it.
func InsideClusterDomain(name, clusterDomain string) bool {
	return strings.HasSuffix(name, ".svc") || name == clusterDomain || strings.HasSuffix(name, "."+clusterDomain)
}

// NumericName reports whether every label of name is a number in decimal or
// hex (0x...): inet_aton, which getaddrinfo uses, reads such names as IPv4
// addresses (127.1, 2130706433, 0177.0.0.1, 0x7f.0.0.1). name is lower case.
func NumericName(name string) bool {
	for label := range strings.SplitSeq(name, ".") {
		if rest, ok := strings.CutPrefix(label, "0x"); ok {
			// "0x" alone is 0 to inet_aton.
			if strings.Trim(rest, "0123456789abcdef") != "" {
				return false
			}
			continue
		}
		if label == "" || strings.Trim(label, "0123456789") != "" {
			return false
		}
	}
	return true
}
