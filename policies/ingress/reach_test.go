package ingress_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

const (
	aliasKy  = "nginx.ingress.kubernetes.io/server-alias"
	mirrorKy = "nginx.ingress.kubernetes.io/mirror-target"
	mhostKy  = "nginx.ingress.kubernetes.io/mirror-host"
	// reachTail ends every connection-target denial of namespace alice.
	reachTail = "the ingress controller connects from inside the cluster, so "
)

// reachCase is an Ingress of namespace ns (alice when empty) on its good host
// web-<ns>.okteto.example.com carrying the annotations anns; after mutation it
// has exactly anns and the endpoints annotation.
func reachCase(name, ns string, anns map[string]string, denials ...wantErr) ingCase {
	if ns == "" {
		ns = "alice"
	}
	host := "web-" + ns + ".okteto.example.com"
	var entries []string
	want := map[string]string{endpointsKy: "https://" + host}
	for k, v := range anns {
		entries = append(entries, mustJSON(k)+": "+mustJSON(v))
		want[k] = v
	}
	return ingCase{
		name:        name,
		ns:          ns,
		meta:        "{name: web, annotations: {" + strings.Join(entries, ", ") + "}}",
		spec:        "{rules: [{host: " + host + ", http: $HTTP}], tls: [{hosts: [" + host + "]}]}",
		annotations: want,
		denials:     denials,
	}
}

// TestServerAlias: SPEC 3, each server alias obeys every host rule.
func TestServerAlias(t *testing.T) {
	const aliasFld = "metadata.annotations[" + aliasKy + "]"
	alias := func(a, reason, pattern string) wantErr {
		return wantErr{field.ErrorTypeInvalid, aliasFld, `server alias "` + a + `": nginx serves it like a rule host: ` + reason + ": " + pattern}
	}
	owned := func(c ingCase, existing ...string) ingCase { c.existing = existing; return c }
	runIngressCases(t, []ingCase{
		reachCase("own aliases, as ingress-nginx splits them", "", map[string]string{aliasKy: " api-alice.okteto.example.com,alice.okteto.example.com , ,"}),
		reachCase("another namespace's host", "", map[string]string{aliasKy: "web-bob.okteto.example.com"},
			alias("web-bob.okteto.example.com", `the first label "web-bob" does not end with the namespace "alice"`, pattern)),
		reachCase("another namespace's own host, after a good alias", "", map[string]string{aliasKy: "api-alice.okteto.example.com, bob.okteto.example.com"},
			alias("bob.okteto.example.com", `the first label "bob" does not end with the namespace "alice"`, pattern)),
		reachCase("a repeated alias is denied once", "", map[string]string{aliasKy: "x.example.org,x.example.org"},
			alias("x.example.org", "the host is not under the domain okteto.example.com", pattern)),
		reachCase("wildcard", "", map[string]string{aliasKy: "*.okteto.example.com"},
			alias("*.okteto.example.com", "wildcard hosts are not allowed", pattern)),
		reachCase("nginx regex server name", "", map[string]string{aliasKy: "~^web.+bob.okteto.example.com"},
			alias("~^web.+bob.okteto.example.com", "only one label may precede okteto.example.com (the wildcard certificate *.okteto.example.com covers exactly one)", pattern)),
		reachCase("upper case", "", map[string]string{aliasKy: "WEB-alice.okteto.example.com"},
			alias("WEB-alice.okteto.example.com", "the host must be lower case", pattern)),
		reachCase("bare domain", "", map[string]string{aliasKy: "okteto.example.com"},
			alias("okteto.example.com", "the bare domain okteto.example.com belongs to the platform", pattern)),
		owned(reachCase("a host of the longer namespace team-a", "a", map[string]string{aliasKy: "web-team-a.okteto.example.com"},
			alias("web-team-a.okteto.example.com",
				`the host belongs to the namespace "team-a": "web-team-a" ends with "-team-a", and a host belongs to the existing namespace with the longest name it fits`,
				"must be <name>-a.okteto.example.com or a.okteto.example.com")), "a", "team-a"),
		owned(reachCase("the same alias when team-a does not exist", "a", map[string]string{aliasKy: "web-team-a.okteto.example.com"}), "a"),
	})
}

// TestNamespaceReferences: SPEC 3, annotations naming a Secret or ConfigMap
// as namespace/name must name the Ingress's namespace.
func TestNamespaceReferences(t *testing.T) {
	var cases []ingCase
	for _, r := range []struct{ key, kind string }{
		{"auth-secret", "Secret"},
		{"auth-tls-secret", "Secret"},
		{"proxy-ssl-secret", "Secret"},
		{"auth-proxy-set-headers", "ConfigMap"},
		{"custom-headers", "ConfigMap"},
		{"fastcgi-params-configmap", "ConfigMap"},
	} {
		key := "nginx.ingress.kubernetes.io/" + r.key
		f := "metadata.annotations[" + key + "]"
		cases = append(cases,
			reachCase(r.key+": another namespace", "", map[string]string{key: "bob/client"},
				wantErr{field.ErrorTypeForbidden, f, `"bob/client" names the ` + r.kind + ` "client" of the namespace "bob": the ingress controller would use another namespace's ` + r.kind}),
			reachCase(r.key+": another namespace, spaces trimmed", "", map[string]string{key: " kube-system/ca "},
				wantErr{field.ErrorTypeForbidden, f, `names the ` + r.kind + ` "ca" of the namespace "kube-system"`}),
			reachCase(r.key+": more than one slash", "", map[string]string{key: "alice/bob/x"},
				wantErr{field.ErrorTypeInvalid, f, "must name a " + r.kind + " as <name> or alice/<name>"}),
			reachCase(r.key+": own namespace", "", map[string]string{key: "alice/client"}),
			reachCase(r.key+": bare name", "", map[string]string{key: "client"}),
			reachCase(r.key+": empty namespace", "", map[string]string{key: "/client"}),
		)
	}
	runIngressCases(t, cases)
}

// TestConnectionTargets: SPEC 3, auth-url, mirror-target and mirror-host may
// name an external host or a Service of the namespace, nothing else inside
// the cluster.
func TestConnectionTargets(t *testing.T) {
	denied := func(key, v, problem string) ingCase {
		return reachCase(key+" "+v, "", map[string]string{key: v},
			wantErr{field.ErrorTypeInvalid, "metadata.annotations[" + key + "]", problem + ": " + reachTail + key + " may name an external host or a Service of the namespace (<service>.alice.svc or <service>.alice.svc.cluster.local)"})
	}
	ip := func(h, r string) string { return "the host " + h + " is an IP address in " + r }
	numeric := func(h string) string {
		return "the host " + h + " is a number that resolvers read as an IP address (as inet_aton reads 127.1, 2130706433 or 0x7f.0.0.1)"
	}
	const (
		api      = "the host %s is the Kubernetes API server's Service"
		variable = "the value takes its host from an nginx variable, which the request controls"
	)
	apiHost := func(h string) string { return strings.Replace(api, "%s", h, 1) }
	cases := []ingCase{
		// The attacks.
		denied(urlKy, "http://api.bob.svc.cluster.local/verify", inside("api.bob.svc.cluster.local")),
		denied(mirrorKy, "http://api.bob.svc.cluster.local$request_uri", inside("api.bob.svc.cluster.local")),
		denied(mhostKy, "api.bob.svc.cluster.local", inside("api.bob.svc.cluster.local")),
		denied(mirrorKy, "http://169.254.169.254/", ip("169.254.169.254", "169.254.0.0/16 (link-local, cloud metadata)")),
		// Cluster names.
		denied(urlKy, "http://API.Bob.svc.cluster.local.:8080/", inside("api.bob.svc.cluster.local")),
		denied(urlKy, "https://api.bob.svc/", inside("api.bob.svc")),
		denied(urlKy, "http://10-0-0-1.bob.pod.cluster.local/", inside("10-0-0-1.bob.pod.cluster.local")),
		denied(urlKy, "http://10-0-0-1.bob.pod/", inside("10-0-0-1.bob.pod")),
		denied(urlKy, "http://cluster.local/", inside("cluster.local")),
		denied(urlKy, "http://auth.alice.svc.cluster.local@api.bob.svc.cluster.local/", inside("api.bob.svc.cluster.local")),
		denied(urlKy, "http://kubernetes/", apiHost("kubernetes")),
		denied(urlKy, "https://kubernetes.default/", apiHost("kubernetes.default")),
		denied(urlKy, "https://kubernetes.default.svc/api", apiHost("kubernetes.default.svc")),
		denied(mirrorKy, "https://kubernetes.default.svc.cluster.local:443$request_uri", apiHost("kubernetes.default.svc.cluster.local")),
		denied(urlKy, "http://localhost:10246/", "the host localhost is a loopback name: it is the ingress controller itself"),
		denied(urlKy, "http://api/", "the host api is a single-label name, which the search path resolves to a Service of the ingress controller's namespace"),
		denied(urlKy, "http://metrics.kube-system/", `the host metrics.kube-system ends with the namespace "kube-system", which the search path resolves to that namespace's Service (metrics.kube-system.svc.cluster.local)`),
		// Addresses.
		denied(urlKy, "http://127.0.0.1:8080/", ip("127.0.0.1", "127.0.0.0/8 (loopback)")),
		denied(urlKy, "http://[::1]/", ip("::1", "::1/128 (loopback)")),
		denied(urlKy, "http://[::ffff:127.0.0.1]/", ip("::ffff:127.0.0.1", "127.0.0.0/8 (loopback)")),
		denied(urlKy, "http://[64:ff9b::a9fe:a9fe]/", ip("64:ff9b::a9fe:a9fe", "169.254.0.0/16 (link-local, cloud metadata)")),
		denied(urlKy, "http://0.0.0.0/", ip("0.0.0.0", "0.0.0.0/8 (this host)")),
		denied(urlKy, "http://[::]/", ip("::", "::/128 (unspecified)")),
		denied(urlKy, "http://10.96.0.1/", ip("10.96.0.1", "10.0.0.0/8 (private, cluster)")),
		denied(urlKy, "http://172.16.0.1/", ip("172.16.0.1", "172.16.0.0/12 (private, cluster)")),
		denied(urlKy, "http://192.168.1.1/", ip("192.168.1.1", "192.168.0.0/16 (private, cluster)")),
		denied(urlKy, "http://100.64.0.1/", ip("100.64.0.1", "100.64.0.0/10 (shared address space, cluster)")),
		denied(urlKy, "http://[fe80::1]/", ip("fe80::1", "fe80::/10 (link-local)")),
		denied(urlKy, "http://[fd00:ec2::254]/", ip("fd00:ec2::254", "fc00::/7 (unique local, cluster)")),
		denied(mhostKy, "169.254.169.254", ip("169.254.169.254", "169.254.0.0/16 (link-local, cloud metadata)")),
		denied(urlKy, "http://127.1/", numeric("127.1")),
		denied(urlKy, "http://2130706433/", numeric("2130706433")),
		denied(urlKy, "http://0x7f.0.0.1/", numeric("0x7f.0.0.1")),
		denied(urlKy, "http://0177.0.0.1/", numeric("0177.0.0.1")),
		// Hosts devgate cannot judge.
		denied(urlKy, "http://$http_x_target/", variable),
		denied(mirrorKy, "http://mirror.example.com$arg_suffix", variable),
		denied(mirrorKy, "https://mirror$uri_x", variable),
		denied(mhostKy, "$http_host", variable),
		denied(mirrorKy, "$target", "the value is not an http:// or https:// URL"),
		denied(urlKy, "auth.example.com/verify", "the value is not an http:// or https:// URL"),
		denied(urlKy, "ftp://auth.example.com/", "the value is not an http:// or https:// URL"),
		denied(urlKy, "http:///verify", "the value has no host"),
		denied(urlKy, "http://auth.example.com:http/", "the value has no valid host"),
		denied(urlKy, "http://[::1/", "the value has no valid host"),
		denied(urlKy, "http://%61pi.bob.svc.cluster.local/", `the host "%61pi.bob.svc.cluster.local" is not a host name`),

		// Allowed: external hosts and addresses, the namespace's own Services.
		reachCase("external auth-url", "", map[string]string{urlKy: "https://auth.example.com/verify?x=1"}),
		reachCase("external mirror with the request URI", "", map[string]string{mirrorKy: "https://mirror.example.com$request_uri", mhostKy: "mirror.example.com"}),
		reachCase("mirror with $uri", "", map[string]string{mirrorKy: "http://mirror.example.com:8080$uri"}),
		reachCase("public address", "", map[string]string{urlKy: "http://203.0.113.10:8080/verify"}),
		reachCase("own Service, full name", "", map[string]string{urlKy: "http://auth.alice.svc.cluster.local/verify"}),
		reachCase("own Service, .svc", "", map[string]string{mirrorKy: "http://mirror.alice.svc:8080$request_uri", mhostKy: "mirror.alice.svc"}),
		reachCase("own Service, two labels", "", map[string]string{urlKy: "http://auth.alice/"}),
		reachCase("two labels ending in a namespace that does not exist", "", map[string]string{urlKy: "http://auth.carol/"}),
		reachCase("an endpoint of the platform domain", "", map[string]string{urlKy: "https://web-bob.okteto.example.com/"}),
	}

	// A namespace is known once it exists.
	known := denied(urlKy, "http://api.bob:8080/", `the host api.bob ends with the namespace "bob", which the search path resolves to that namespace's Service (api.bob.svc.cluster.local)`)
	known.existing = []string{"bob"}
	cases = append(cases, known)

	// The cluster domain is the configuration's.
	corp := func(c ingCase) ingCase {
		c.cfg = func(cfg *config.Config) { cfg.ClusterDomain = "corp.internal" }
		return c
	}
	corpDenied := denied(urlKy, "http://api.bob.svc.corp.internal/", inside("api.bob.svc.corp.internal"))
	corpDenied.denials[0].Detail = strings.Replace(corpDenied.denials[0].Detail, "svc.cluster.local", "svc.corp.internal", 1)
	cases = append(cases,
		corp(corpDenied),
		corp(reachCase("own Service under a custom cluster domain", "", map[string]string{urlKy: "http://auth.alice.svc.corp.internal/"})),
	)

	// Without denySnippets, a value with injection characters is judged too.
	off := denied(mirrorKy, "http://evil;", "the host evil; is a single-label name, which the search path resolves to a Service of the ingress controller's namespace")
	off.cfg = func(c *config.Config) { f := false; c.DenySnippets = &f }
	cases = append(cases, off)
	runIngressCases(t, cases)
}

// TestPrivateReach: a private Ingress as devgate mutates it is admitted (its
// auth-url is devgate's, under the platform domain); its mirror is judged.
func TestPrivateReach(t *testing.T) {
	mirror := privateCase("private with an in-cluster mirror", "true", "'"+mirrorKy+"': 'http://api.bob.svc.cluster.local/'",
		injected(map[string]string{mirrorKy: "http://api.bob.svc.cluster.local/"}))
	mirror.denials = []wantErr{{field.ErrorTypeInvalid, annField(mirrorKy), inside("api.bob.svc.cluster.local")}}
	// An in-cluster auth service of the platform is devgate's configuration.
	inCluster := privateCase("private, in-cluster auth service configured", "true", "", map[string]string{
		urlKy: "http://devgate-auth.devgate.svc.cluster.local/verify?namespace=alice", signinKy: authSignin, headersKy: authHeaders,
	})
	inCluster.cfg = func(c *config.Config) {
		c.PrivateEndpoints.AuthURL = "http://devgate-auth.devgate.svc.cluster.local/verify"
	}
	// A tenant's in-cluster auth-url on a private Ingress is the private
	// rule's denial, once.
	tenant := privateCase("private, tenant's in-cluster auth-url", "true", "'"+urlKy+"': 'http://api.bob.svc.cluster.local/'",
		injected(map[string]string{urlKy: "http://api.bob.svc.cluster.local/"}))
	tenant.denials = []wantErr{{field.ErrorTypeInvalid, annField(urlKy), "a private endpoint's " + urlKy + " must be exactly"}}
	runIngressCases(t, []ingCase{
		privateCase("private as devgate mutates it", "true", "", injected(nil)),
		mirror, inCluster, tenant,
	})
}

func inside(h string) string {
	return "the host " + h + ` is inside the cluster domain and is not a Service of the namespace "alice"`
}

// TestFromToWWWRedirect: SPEC 3, from-to-www-redirect on a www. host would
// serve the name without it: for the namespace www, the platform's bare domain.
func TestFromToWWWRedirect(t *testing.T) {
	const wwwKy = "nginx.ingress.kubernetes.io/from-to-www-redirect"
	www := func(name, v string, denials ...wantErr) ingCase {
		return ingCase{
			name: name, ns: "www",
			meta:        "{name: web, annotations: {" + mustJSON(wwwKy) + ": " + mustJSON(v) + "}}",
			spec:        "{rules: [{host: www.okteto.example.com, http: $HTTP}], tls: [{hosts: [www.okteto.example.com]}]}",
			annotations: map[string]string{wwwKy: v, endpointsKy: "https://www.okteto.example.com"},
			denials:     denials,
		}
	}
	bare := wantErr{field.ErrorTypeForbidden, annField(wwwKy),
		`the rule host www.okteto.example.com starts with "www.": ingress-nginx would also serve okteto.example.com (redirecting it to www.okteto.example.com), which is not a host of the namespace (<name>-www.okteto.example.com or www.okteto.example.com)`}
	runIngressCases(t, []ingCase{
		www("the bare domain through www", "true", bare),
		www("ParseBool spelling", "1", bare),
		www("false is allowed", "false"),
		reachCase("any other host gains only www.<host>", "", map[string]string{wwwKy: "true"}),
	})
}
