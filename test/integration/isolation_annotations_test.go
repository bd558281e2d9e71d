package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Ingress annotations that reach outside the namespace (SPEC 3) through the
// real API server, as a tenant: server aliases of other namespaces' hosts,
// another namespace's Secrets, connection targets inside the cluster, and
// quotes or backslashes in nginx annotation values are denied; the
// namespace's own variants are admitted.

// annotatedIngress is an Ingress on the good host web-<ns>.<domain> with the
// annotations (key, value pairs).
func annotatedIngress(ns string, kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "    %s: %s\n", kv[i], strconv.Quote(kv[i+1]))
	}
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: %[1]s
  annotations:
%[2]s
spec:
  rules:
  - host: web-%[1]s.okteto.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, ns, b.String())
}

const (
	denied   = `The Ingress "web" is invalid`
	nginxAnn = "metadata.annotations[nginx.ingress.kubernetes.io/"
)

func TestIsolationAnnotationsDenied(t *testing.T) {
	ns := namespace(t, "reach")
	other := namespace(t, "reach-other")
	asAlice := []string{"apply", "--as", "alice", "-f", "-"}
	for _, c := range []struct {
		name string
		kv   []string
		want []string
	}{
		{"server-alias of another namespace's host", []string{"nginx.ingress.kubernetes.io/server-alias", "web-" + other + ".okteto.example.com"},
			[]string{nginxAnn + `server-alias]: Invalid value: "web-` + other + `.okteto.example.com": server alias "web-` + other + `.okteto.example.com"`,
				"must be <name>-" + ns + ".okteto.example.com or " + ns + ".okteto.example.com"}},
		{"proxy-ssl-secret of another namespace", []string{"nginx.ingress.kubernetes.io/proxy-ssl-secret", other + "/client"},
			[]string{nginxAnn + `proxy-ssl-secret]: Forbidden: "` + other + `/client" names the Secret "client" of the namespace "` + other + `"`}},
		{"auth-tls-secret of another namespace", []string{"nginx.ingress.kubernetes.io/auth-tls-secret", other + "/ca"},
			[]string{nginxAnn + `auth-tls-secret]: Forbidden: "` + other + `/ca" names the Secret "ca" of the namespace "` + other + `"`}},
		{"auth-url to another namespace's Service", []string{"nginx.ingress.kubernetes.io/auth-url", "http://api." + other + ".svc.cluster.local/"},
			[]string{nginxAnn + `auth-url]: Invalid value: "http://api.` + other + `.svc.cluster.local/": the host api.` + other + `.svc.cluster.local is inside the cluster domain and is not a Service of the namespace "` + ns + `"`}},
		{"mirror-target to the cloud metadata service", []string{"nginx.ingress.kubernetes.io/mirror-target", "http://169.254.169.254/"},
			[]string{nginxAnn + `mirror-target]: Invalid value: "http://169.254.169.254/": the host 169.254.169.254 is an IP address in 169.254.0.0/16 (link-local, cloud metadata)`}},
		{"a double quote in an nginx annotation", []string{"nginx.ingress.kubernetes.io/upstream-vhost", `web" x`},
			[]string{nginxAnn + "upstream-vhost]: Invalid value:", "contains a double quote, which can inject nginx configuration"}},
		{"a backslash in an nginx annotation", []string{"nginx.ingress.kubernetes.io/rewrite-target", `/\x`},
			[]string{nginxAnn + "rewrite-target]: Invalid value:", "contains a backslash, which can inject nginx configuration"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mustFail(t, annotatedIngress(ns, c.kv...), append([]string{denied}, c.want...), asAlice...)
		})
	}
}

func TestIsolationAnnotationsAliasOwnedByALongerNamespace(t *testing.T) {
	short := namespace(t, "alias")
	long := namespace(t, "team-alias")
	// The webhook learns of team-alias from its informer: retry until it does.
	deniedEventually(t, annotatedIngress(short, "nginx.ingress.kubernetes.io/server-alias", "web-"+long+".okteto.example.com"), []string{
		denied,
		nginxAnn + `server-alias]: Invalid value: "web-` + long + `.okteto.example.com"`,
		`the host belongs to the namespace "` + long + `"`,
	}, "apply", "--as", "alice", "-f", "-")
}

func TestIsolationAnnotationsOwnVariantsAdmitted(t *testing.T) {
	ns := namespace(t, "reach-own")
	for _, kv := range [][]string{
		{"nginx.ingress.kubernetes.io/server-alias", "api-" + ns + ".okteto.example.com, " + ns + ".okteto.example.com"},
		{"nginx.ingress.kubernetes.io/proxy-ssl-secret", ns + "/client"},
		{"nginx.ingress.kubernetes.io/auth-tls-secret", "ca"},
		{"nginx.ingress.kubernetes.io/auth-url", "https://auth.example.com/verify"},
		{"nginx.ingress.kubernetes.io/auth-url", "http://auth." + ns + ".svc.cluster.local/verify"},
		{"nginx.ingress.kubernetes.io/mirror-target", "https://mirror.example.com$request_uri", "nginx.ingress.kubernetes.io/mirror-host", "mirror.example.com"},
	} {
		t.Run(kv[0]+"="+kv[1], func(t *testing.T) {
			mustKubectl(t, annotatedIngress(ns, kv...), "apply", "--as", "alice", "-f", "-")
		})
	}
	// A private Ingress as devgate mutates it: its auth-url is devgate's.
	out := mustKubectl(t, annotatedIngress(ns, "dev.okteto.com/private", "true"), "apply", "--as", "alice",
		"-o", "jsonpath={.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-url}", "-f", "-")
	if want := "https://okteto.example.com/auth/verify?namespace=" + ns; out != want {
		t.Fatalf("auth-url = %q, want %q", out, want)
	}
}
