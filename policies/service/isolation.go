package service

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Services in managed namespaces cannot reach past their namespace through
// the ingress controller or kube-proxy (SPEC 2):
//
//   - An ExternalName Service is a DNS alias that the ingress controller (and
//     any client) resolves in its own context: one naming a Service of another
//     namespace or of the platform (`api.alice.svc.cluster.local`,
//     `kubernetes.default`) or an address (`169.254.169.254`) would publish it
//     under the tenant's host. Such names are denied.
//   - spec.externalIPs makes kube-proxy on every node capture the traffic to
//     those addresses (CVE-2020-8554): denied, whatever the type, including a
//     LoadBalancer or NodePort Service converted to ClusterIP.

// isolation returns the reasons to deny svc that do not depend on its
// auto-ingress annotation. It allocates nothing for a Service without
// externalIPs that is not of type ExternalName.
func isolation(svc *corev1.Service, cfg *config.Config, namespaces namespaceLookup) field.ErrorList {
	var errs field.ErrorList
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		reason := externalNameReason(svc.Spec.ExternalName, cfg.ClusterDomainName())
		if reason == "" {
			reason = searchPathReason(svc.Spec.ExternalName, svc.Namespace, namespaces)
		}
		if reason != "" {
			errs = append(errs, field.Invalid(field.NewPath("spec", "externalName"), svc.Spec.ExternalName, fmt.Sprintf(
				"externalName %s %s: an ExternalName Service in a managed namespace must name a host outside the cluster", svc.Spec.ExternalName, reason)))
		}
	}
	if len(svc.Spec.ExternalIPs) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalIPs"), fmt.Sprintf(
			"externalIPs %s would make kube-proxy on every node capture the traffic to those addresses, including other tenants' and the platform's (CVE-2020-8554): "+
				"remove spec.externalIPs; for an HTTPS endpoint set %s: %q", strings.Join(svc.Spec.ExternalIPs, ", "), AnnotationAutoIngress, AutoIngressTrue)))
	}
	return errs
}

// namespaceLookup tells which namespaces exist (policies.Lookup).
type namespaceLookup interface{ NamespaceExists(string) bool }

// searchPathReason says why externalName would resolve to a Service of
// another namespace through the DNS search path, or "". The ingress
// controller resolves a name with fewer dots than ndots (5 in Pods) against
// its search list first, `svc.<clusterDomain>` among it: `api.alice`
// becomes `api.alice.svc.cluster.local`, alice's Service, and
// `web.api.alice` a Pod of it. A name whose last label is an existing
// namespace other than the Service's own is therefore denied; `example.com`
// is only when a namespace "com" exists, where it would reach that
// namespace too.
func searchPathReason(externalName, namespace string, namespaces namespaceLookup) string {
	name := strings.ToLower(strings.TrimSuffix(externalName, "."))
	last := name[strings.LastIndexByte(name, '.')+1:]
	if strings.Count(name, ".") >= 5 || last == namespace || !namespaces.NamespaceExists(last) {
		return ""
	}
	return fmt.Sprintf("ends with the namespace %q: the cluster's DNS search path resolves it to %s.svc.<clusterDomain>, a Service of that namespace, which it would publish under the tenant's host", last, name)
}

// externalNameReason says why externalName reaches past the namespace, or ""
// when it names a host outside the cluster. Names are compared in lower case
// and without one trailing dot, as DNS does; clusterDomain is
// Config.ClusterDomainName.
func externalNameReason(externalName, clusterDomain string) string {
	name := strings.ToLower(strings.TrimSuffix(externalName, "."))
	const inside = "is inside the cluster domain: it would publish another namespace's or the platform's Service under the tenant's host"
	switch {
	case name == "":
		return "is empty"
	case ipLike(name):
		return "is an IP address: it would publish whatever answers at that address (the node, the cloud metadata service, another namespace's Pod) under the tenant's host"
	case hosts.APIServerName(name):
		return "names the Kubernetes API server's Service: it would publish the platform's API under the tenant's host"
	case hosts.InsideClusterDomain(name, clusterDomain):
		// *.svc, *.svc.<clusterDomain> and anything else under the domain.
		return inside
	case hosts.LoopbackName(name):
		return "is a loopback name: it would publish what listens on the ingress controller's own loopback interface under the tenant's host"
	case !strings.Contains(name, "."):
		return "is a single-label name, which resolves through the cluster's DNS search path to a Service inside the cluster domain: " +
			"it would publish another namespace's or the platform's Service under the tenant's host"
	}
	return ""
}

// ipLike reports whether name is an IP address, or could be read as one by
// some resolver: what net and net/netip parse (v4, v6, v6 with a zone), and
// any name whose labels are all numbers (hosts.NumericName).
func ipLike(name string) bool {
	if net.ParseIP(name) != nil {
		return true
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		return true // [::1]
	}
	return hosts.NumericName(name)
}
