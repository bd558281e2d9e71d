package ingress

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Annotations that reach outside the namespace (SPEC 3). ingress-nginx
// (internal/ingress/annotations/*/main.go) gives a tenant three ways to make
// the controller act for it beyond its own hosts and Services:
//
//   - server-alias adds names to the nginx server: each alias is a host like
//     any rule host, and goes through checkHost.
//   - Some annotations name a Secret or ConfigMap as namespace/name, and the
//     controller reads it with its own cluster-wide credentials: another
//     namespace's client CA, upstream client certificate or htpasswd file.
//     The namespace must be the Ingress's own.
//   - auth-url and mirror-target make nginx open connections, from inside the
//     cluster network, to the host they name; mirror-host is the Host header
//     of the mirrored request. They may name an external host or a Service
//     of the Ingress's own namespace, never another namespace's Service, the
//     API server, or an address of the node, the cloud metadata service or
//     the cluster's private ranges.

// The ingress-nginx annotations that name a Secret or ConfigMap, or a host
// to connect to.
const (
	AnnotationAuthSecret          = NginxPrefix + "auth-secret"
	AnnotationAuthTLSSecret       = NginxPrefix + "auth-tls-secret"
	AnnotationProxySSLSecret      = NginxPrefix + "proxy-ssl-secret"
	AnnotationAuthProxySetHeaders = NginxPrefix + "auth-proxy-set-headers"
	AnnotationCustomHeaders       = NginxPrefix + "custom-headers"
	AnnotationFastCGIParams       = NginxPrefix + "fastcgi-params-configmap"
	AnnotationMirrorTarget        = NginxPrefix + "mirror-target"
	AnnotationMirrorHost          = NginxPrefix + "mirror-host"
	// AnnotationFromToWWWRedirect makes ingress-nginx add a server for the
	// rule host with "www." added, or removed when the host starts with it.
	AnnotationFromToWWWRedirect = NginxPrefix + "from-to-www-redirect"

	kindSecret    = "Secret"
	kindConfigMap = "ConfigMap"
)

// nameRefs are the ingress-nginx annotations whose value is a key
// `[namespace/]name` of the controller's Secret or ConfigMap store, with the
// kind they name. ingress-nginx parses them with k8s.ParseNameNS
// (auth-tls-secret, proxy-ssl-secret) or cache.SplitMetaNamespaceKey
// (auth-secret, auth-proxy-set-headers, fastcgi-params-configmap), or passes
// the value to the store as is (custom-headers: GetConfigMap(value)).
var nameRefs = []struct{ key, kind string }{
	{AnnotationAuthProxySetHeaders, kindConfigMap},
	{AnnotationAuthSecret, kindSecret},
	{AnnotationAuthTLSSecret, kindSecret},
	{AnnotationCustomHeaders, kindConfigMap},
	{AnnotationFastCGIParams, kindConfigMap},
	{AnnotationProxySSLSecret, kindSecret},
}

// connectTargets are the ingress-nginx annotations whose value makes nginx
// connect to (or present itself to) a host: url tells a URL from a bare host.
var connectTargets = []struct {
	key string
	url bool
}{
	{AnnotationAuthURL, true},
	{AnnotationMirrorHost, false},
	{AnnotationMirrorTarget, true},
}

// pathVariables are the nginx variables allowed right after the host of a
// URL: their value always starts with "/", so the host stays the one written.
// Any other variable there would let the client choose the host.
var pathVariables = []string{"$request_uri", "$uri", "$document_uri"}

// builtinNamespaces exist in every cluster, managed or not.
var builtinNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// validateReach denies server aliases outside the namespace's names,
// references to another namespace's Secrets and ConfigMaps, and connection
// targets inside the cluster that are not the namespace's own Services. An
// Ingress without such annotations costs no allocation.
func validateReach(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	if len(ing.Annotations) == 0 {
		return nil
	}
	var errs field.ErrorList
	if _, ok := judged(ing, AnnotationServerAlias, cfg); ok {
		errs = append(errs, validateAliases(ing, cfg, owners)...)
	}
	ns := ing.Namespace
	for _, r := range nameRefs {
		if v, ok := judged(ing, r.key, cfg); ok {
			if err := nameRefDenial(r.key, r.kind, v, ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	private := ing.Annotations[AnnotationPrivate] == PrivateTrue
	for _, t := range connectTargets {
		v, ok := judged(ing, t.key, cfg)
		if !ok || (t.key == AnnotationAuthURL && private) {
			// A private Ingress's auth-url must be devgate's exact value
			// (validatePrivate), which is the platform's configuration.
			continue
		}
		if err := targetDenial(t.key, v, t.url, ns, cfg, owners); err != nil {
			errs = append(errs, err)
		}
	}
	if v, ok := judged(ing, AnnotationFromToWWWRedirect, cfg); ok && parsesTrue(v) {
		if err := wwwDenial(ing, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// wwwDenial denies from-to-www-redirect on an Ingress with a rule host
// www.<x>: ingress-nginx (BuildRedirects) then serves <x> as well, with a
// redirect, and for the namespace www that is the platform's bare domain.
// Other hosts only gain www.<host>, a name under the namespace's own.
func wwwDenial(ing *networkingv1.Ingress, cfg *config.Config) *field.Error {
	for _, r := range ing.Spec.Rules {
		if from, ok := strings.CutPrefix(r.Host, "www."); ok {
			return field.Forbidden(annotationPath(AnnotationFromToWWWRedirect), fmt.Sprintf(
				"the rule host %s starts with \"www.\": ingress-nginx would also serve %s (redirecting it to %s), which is not a host of the namespace (%s); remove the annotation",
				r.Host, from, r.Host, hosts.Pattern(ing.Namespace, cfg.Domain)))
		}
	}
	return nil
}

// parsesTrue reports whether ingress-nginx reads v as true (strconv.ParseBool).
func parsesTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// judged is the value of annotation key and whether validateReach judges it:
// it is set and not already denied by validateSnippets (one denial per
// annotation; without denySnippets every value is judged).
func judged(ing *networkingv1.Ingress, key string, cfg *config.Config) (string, bool) {
	v, ok := ing.Annotations[key]
	if !ok || (cfg.DenyNginxSnippets() && snippetDenial(key, v) != nil) {
		return "", false
	}
	return v, true
}

// validateAliases puts every server alias through checkHost, as ingress-nginx
// reads them (ServerAliases), each once.
func validateAliases(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	if _, ok := ing.Annotations[AnnotationServerAlias]; !ok {
		return nil
	}
	var errs field.ErrorList
	ns, domain := ing.Namespace, cfg.Domain
	seen := map[string]bool{}
	for _, a := range ServerAliases(ing) {
		if seen[a] {
			continue
		}
		seen[a] = true
		if err := checkHost(a, ns, domain, owners); err != nil {
			d := hostDenial(annotationPath(AnnotationServerAlias), a, err, ns, domain)
			d.Detail = fmt.Sprintf("server alias %q: nginx serves it like a rule host: %s", shown(a), d.Detail)
			errs = append(errs, d)
		}
	}
	return errs
}

// nameRefDenial denies annotation key whose value v names a kind in another
// namespace than namespace, or returns nil. ingress-nginx trims the value and
// reads `name` (or `/name`) as the Ingress's namespace; more than one "/" is
// no key of its store, and is denied as well rather than guessed at.
func nameRefDenial(key, kind, v, namespace string) *field.Error {
	ref := strings.TrimSpace(v)
	refNS, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		return nil
	}
	if strings.Contains(name, "/") {
		return field.Invalid(annotationPath(key), shown(v), fmt.Sprintf(
			"must name a %s as <name> or %s/<name>", kind, namespace))
	}
	if refNS == "" || refNS == namespace {
		return nil
	}
	return field.Forbidden(annotationPath(key), fmt.Sprintf(
		"%q names the %s %q of the namespace %q: the ingress controller would use another namespace's %s (certificates, credentials, headers) for this Ingress; "+
			"name a %s of the namespace %q (<name> or %s/<name>)",
		shown(v), kind, name, refNS, kind, kind, namespace, namespace))
}

// targetDenial denies the connection target v of annotation key (a URL if
// isURL, else a bare host) when its host is inside the cluster and not a
// Service of namespace, or returns nil.
func targetDenial(key, v string, isURL bool, namespace string, cfg *config.Config, owners hosts.Namespaces) *field.Error {
	host, problem := targetHost(v, isURL)
	if problem == "" {
		problem = hostReach(host, namespace, cfg, owners)
	}
	if problem == "" {
		return nil
	}
	cd := cfg.ClusterDomainName()
	return field.Invalid(annotationPath(key), shown(v), fmt.Sprintf(
		"%s: the ingress controller connects from inside the cluster, so %s may name an external host or a Service of the namespace (<service>.%s.svc or <service>.%s.svc.%s), "+
			"never another namespace's Service, the Kubernetes API or a loopback, link-local (cloud metadata) or private address",
		problem, key, namespace, namespace, cd))
}

// targetHost is the host that nginx connects to for v, or why there is none
// devgate can judge. A URL must be http:// or https:// (all proxy_pass takes)
// and its host must be written out: a "$" in the authority other than one of
// pathVariables lets the request choose the host. The host is returned in
// lower case without brackets, port, user info or trailing dot.
func targetHost(v string, isURL bool) (host, problem string) {
	v = strings.TrimSpace(v)
	authority := v
	if isURL {
		scheme, rest, ok := strings.Cut(v, "://")
		if !ok || !(strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")) {
			return "", "the value is not an http:// or https:// URL"
		}
		end := strings.IndexAny(rest, "/?#$")
		if end < 0 {
			end = len(rest)
		}
		if end < len(rest) && rest[end] == '$' && !startsWithPathVariable(rest[end:]) {
			return "", "the value takes its host from an nginx variable, which the request controls"
		}
		authority = rest[:end]
	} else if strings.Contains(v, "$") {
		return "", "the value takes its host from an nginx variable, which the request controls"
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host = authority
	switch {
	case strings.HasPrefix(host, "["):
		end := strings.IndexByte(host, ']')
		if end < 0 || !isPort(host[end+1:]) {
			return "", "the value has no valid host"
		}
		host = host[1:end]
	case strings.Count(host, ":") == 1:
		i := strings.IndexByte(host, ':')
		if !isPort(host[i:]) {
			return "", "the value has no valid host"
		}
		host = host[:i]
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return "", "the value has no host"
	}
	return host, ""
}

// startsWithPathVariable reports whether s starts with one of pathVariables,
// not followed by more of a variable name ("$uri" but not "$uri_x").
func startsWithPathVariable(s string) bool {
	for _, pv := range pathVariables {
		if rest, ok := strings.CutPrefix(s, pv); ok && (rest == "" || !isVarChar(rest[0])) {
			return true
		}
	}
	return false
}

func isVarChar(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// isPort reports whether s is "" or ":" and decimal digits.
func isPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) == 1 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hostReach says why the ingress controller must not connect to host for an
// Ingress in namespace, or "" when host is external or a Service of the
// namespace. host is lower case, without trailing dot.
//
// Names are judged as the controller's resolvers may read them: nginx resolves
// a proxy_pass without variables (mirror-target) and an upstream server
// (auth-url with auth-keepalive) once, through the system resolver, which
// applies the Pod's search path (<controller-ns>.svc.<cd>, svc.<cd>, <cd>,
// ndots:5): `api.bob` then reaches `api.bob.svc.<cd>`, `api` a Service of
// the controller's namespace, and `localhost` the controller itself.
func hostReach(host, namespace string, cfg *config.Config, owners hosts.Namespaces) string {
	if addr, err := netip.ParseAddr(host); err == nil {
		if r := deniedRange(addr); r != "" {
			return fmt.Sprintf("the host %s is an IP address in %s", host, r)
		}
		return ""
	}
	if hosts.NumericName(host) {
		return fmt.Sprintf("the host %s is a number that resolvers read as an IP address (as inet_aton reads 127.1, 2130706433 or 0x7f.0.0.1)", host)
	}
	if strings.ContainsAny(host, "%[]\\ \t") {
		return fmt.Sprintf("the host %q is not a host name", host)
	}
	cd := cfg.ClusterDomainName()
	switch {
	case hosts.LoopbackName(host):
		return fmt.Sprintf("the host %s is a loopback name: it is the ingress controller itself", host)
	case hosts.APIServerName(host):
		return fmt.Sprintf("the host %s is the Kubernetes API server's Service", host)
	case ownService(host, namespace, cd):
		return ""
	case hosts.InsideClusterDomain(host, cd) || strings.HasSuffix(host, ".pod"):
		return fmt.Sprintf("the host %s is inside the cluster domain and is not a Service of the namespace %q", host, namespace)
	case !strings.Contains(host, "."):
		return fmt.Sprintf("the host %s is a single-label name, which the search path resolves to a Service of the ingress controller's namespace", host)
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last != namespace && knownNamespace(last, cfg, owners) {
		return fmt.Sprintf("the host %s ends with the namespace %q, which the search path resolves to that namespace's Service (%s.svc.%s)", host, last, host, cd)
	}
	return ""
}

// ownService reports whether host is `<service>.<namespace>.svc` or
// `<service>.<namespace>.svc.<cd>`, or `<service>.<namespace>`, which the
// search path completes to the former: a Service of the namespace.
func ownService(host, namespace, cd string) bool {
	svc, rest, ok := strings.Cut(host, ".")
	if !ok || svc == "" || strings.Contains(svc, "_") {
		return false
	}
	rest, ok = strings.CutPrefix(rest, namespace)
	if !ok {
		return false
	}
	return rest == "" || rest == ".svc" || rest == ".svc."+cd
}

// knownNamespace reports whether name is a namespace devgate knows of: a
// built-in one, an unmanaged one or an existing managed one.
func knownNamespace(name string, cfg *config.Config, owners hosts.Namespaces) bool {
	return slices.Contains(builtinNamespaces, name) || slices.Contains(cfg.ExcludedNamespaces, name) ||
		(owners != nil && owners.ManagedNamespace(name))
}

// deniedRanges are the address ranges a tenant's connection target may not
// be in: the node and the Pod itself, link-local (cloud metadata at
// 169.254.169.254 and fd00:ec2::254), and the private ranges clusters use for
// Pods, Services and nodes. Any other (public) address is external.
var deniedRanges = []struct {
	prefix netip.Prefix
	name   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "0.0.0.0/8 (this host)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "127.0.0.0/8 (loopback)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "169.254.0.0/16 (link-local, cloud metadata)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "10.0.0.0/8 (private, cluster)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "172.16.0.0/12 (private, cluster)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "192.168.0.0/16 (private, cluster)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "100.64.0.0/10 (shared address space, cluster)"},
	{netip.MustParsePrefix("224.0.0.0/3"), "224.0.0.0/3 (multicast, reserved)"},
	{netip.MustParsePrefix("::/128"), "::/128 (unspecified)"},
	{netip.MustParsePrefix("::1/128"), "::1/128 (loopback)"},
	{netip.MustParsePrefix("fe80::/10"), "fe80::/10 (link-local)"},
	{netip.MustParsePrefix("fc00::/7"), "fc00::/7 (unique local, cluster)"},
	{netip.MustParsePrefix("ff00::/8"), "ff00::/8 (multicast)"},
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4 address
// in their last four bytes.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// deniedRange names the denied range addr is in, or "". An IPv4-mapped IPv6
// address (::ffff:127.0.0.1) and a NAT64 one (64:ff9b::7f00:1) are judged as
// their IPv4 address, and any address
// with a zone (fe80::1%eth0) is link-local.
func deniedRange(addr netip.Addr) string {
	if addr.Zone() != "" {
		return "a zone of the node's interfaces (link-local)"
	}
	addr = addr.Unmap()
	if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, r := range deniedRanges {
		if r.prefix.Contains(addr) {
			return r.name
		}
	}
	return ""
}
