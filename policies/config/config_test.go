package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseAppliesEveryDefault(t *testing.T) {
	c, err := Parse([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: dev.example.org\n"))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"tls.mode":                    c.TLS.Mode == TLSModeDefaultCertificate,
		"ingressClassName unset":      c.IngressClassName == "",
		"clusterDomain":               c.ClusterDomain == "cluster.local",
		"convertLoadBalancedServices": c.ConvertLoadBalanced(),
		"denySnippets":                c.DenyNginxSnippets(),
		"authURL":                     c.PrivateEndpoints.AuthURL == "https://dev.example.org/auth/verify",
		"signinURL":                   c.PrivateEndpoints.SigninURL == "https://dev.example.org/auth/signin",
		"responseHeaders":             strings.Join(c.PrivateEndpoints.ResponseHeaders, ",") == "X-Auth-Request-User,X-Auth-Request-Email",
		"maxTTL 90 days":              c.Tokens.MaxTTL.Duration == 90*24*time.Hour && c.MaxTTLMillis() == 7776000000,
		"minLength":                   c.Tokens.MinLength == 16,
		"adminGroups":                 c.IsAdmin([]string{"system:masters"}) && !c.IsAdmin([]string{"developers"}),
		"issuers empty":               len(c.Tokens.Issuers) == 0,
		"guardedSecrets empty":        len(c.Tokens.GuardedSecrets) == 0,
		"auth.publicURL":              c.AuthPublicURL() == "https://dev.example.org/auth",
		"auth.usersNamespace":         c.Auth.UsersNamespace == "" && c.Auth.UsersNamespaceOr("devgate") == "devgate",
		"auth.tokenSignIn":            c.Auth.SignInWithToken(),
		"excluded":                    !c.Managed("kube-system") && !c.Managed("kube-public") && !c.Managed("kube-node-lease") && c.Managed("default"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("default %s not applied: %+v", name, c)
		}
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Domain != "okteto.example.com" {
		t.Fatalf("domain = %q", c.Domain)
	}
}

func TestParseErrors(t *testing.T) {
	head := "apiVersion: devgate.dev/v1alpha1\nkind: Config\n"
	cases := []struct{ name, yaml, want string }{
		{"empty", "", "the configuration is empty"},
		{"missing domain", head, "domain: Required value"},
		{"unknown field", head + "domain: a.example\ndomian: typo\n", `unknown field "domian"`},
		{"unknown nested field", head + "domain: a.example\ntls: {mod: none}\n", `unknown field "mod"`},
		{"wrong apiVersion", "apiVersion: v1\nkind: Config\ndomain: a.example\n", `apiVersion: Unsupported value: "v1"`},
		{"wrong kind", "apiVersion: devgate.dev/v1alpha1\nkind: ConfigMap\ndomain: a.example\n", `kind: Unsupported value: "ConfigMap"`},
		{"wildcard domain", head + "domain: '*.a.example'\n", "domain: Invalid value"},
		{"upper-case domain", head + "domain: A.example\n", "domain: Invalid value"},
		{"upper-case clusterDomain", head + "domain: a.example\nclusterDomain: Cluster.Local\n", "clusterDomain: Invalid value"},
		{"clusterDomain with a trailing dot", head + "domain: a.example\nclusterDomain: cluster.local.\n", "clusterDomain: Invalid value"},
		{"clusterDomain with a wildcard", head + "domain: a.example\nclusterDomain: '*.local'\n", "clusterDomain: Invalid value"},
		{"tls mode", head + "domain: a.example\ntls: {mode: letsencrypt}\n", `tls.mode: Unsupported value: "letsencrypt"`},
		{"cert-manager without issuer", head + "domain: a.example\ntls: {mode: cert-manager}\n", "tls.clusterIssuer: Required value"},
		{"auth URL with query", head + "domain: a.example\nprivateEndpoints: {authURL: 'https://a.example/v?x=1'}\n", "privateEndpoints.authURL: Invalid value"},
		{"relative signin URL", head + "domain: a.example\nprivateEndpoints: {signinURL: /signin}\n", "privateEndpoints.signinURL: Invalid value"},
		{"bad header", head + "domain: a.example\nprivateEndpoints: {responseHeaders: ['X Bad']}\n", "privateEndpoints.responseHeaders[0]: Invalid value"},
		{"negative maxTTL", head + "domain: a.example\ntokens: {maxTTL: -1h}\n", "tokens.maxTTL: Invalid value"},
		{"bad maxTTL", head + "domain: a.example\ntokens: {maxTTL: 90d}\n", "90d"},
		{"minLength too small", head + "domain: a.example\ntokens: {minLength: 4}\n", "tokens.minLength: Invalid value"},
		{"trusted proxy not an address", head + "domain: a.example\nauth: {trustedProxies: [ingress-nginx]}\n", "auth.trustedProxies[0]: Invalid value"},
		{"trusted proxy bad prefix length", head + "domain: a.example\nauth: {trustedProxies: [10.0.0.0/8, 10.0.0.0/33]}\n", "auth.trustedProxies[1]: Invalid value"},
		{"trusted proxy with a zone", head + "domain: a.example\nauth: {trustedProxies: ['fe80::1%eth0']}\n", "auth.trustedProxies[0]: Invalid value"},
		{"unknown auth field", head + "domain: a.example\nauth: {trustedProxy: [10.0.0.1]}\n", `unknown field "trustedProxy"`},
		{"relative publicURL", head + "domain: a.example\nauth: {publicURL: /auth}\n", "auth.publicURL: Invalid value"},
		{"publicURL with query", head + "domain: a.example\nauth: {publicURL: 'https://a.example/auth?x=1'}\n", "auth.publicURL: Invalid value"},
		{"bad usersNamespace", head + "domain: a.example\nauth: {usersNamespace: Users}\n", "auth.usersNamespace: Invalid value"},
		{"guarded secret without key", head + "domain: a.example\ntokens: {guardedSecrets: [{namespace: a, name: b}]}\n", "tokens.guardedSecrets[0].key: Required value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestClusterDomain(t *testing.T) {
	c, err := Parse([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\nclusterDomain: k8s.corp.example\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterDomain != "k8s.corp.example" {
		t.Fatalf("clusterDomain = %q, want the file's value", c.ClusterDomain)
	}
	if d := Default().ClusterDomain; d != "cluster.local" {
		t.Fatalf("Default().ClusterDomain = %q", d)
	}
}

func TestExampleConfigsParse(t *testing.T) {
	for _, path := range []string{"../../examples/config.yaml"} {
		if _, err := Load(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\n"))
	f.Add([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\ntokens: {maxTTL: 1ms}\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\nendpoints: {kind: httproute, gateway: {namespace: gw, name: public}, authService: {namespace: devgate, name: auth, verifyPath: /v}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil && len(c.Validate()) > 0 {
			t.Fatalf("Parse accepted an invalid configuration: %q", data)
		}
	})
}

func TestTrustedProxies(t *testing.T) {
	c, err := Parse([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\nauth:\n  trustedProxies: [10.1.2.3/8, 192.0.2.7, '2001:db8::/32', '::ffff:198.51.100.0/120', '::1']\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Auth.TrustedProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	want := "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,198.51.100.0/24,::1/128"
	if strings.Join(s, ",") != want {
		t.Fatalf("prefixes = %v, want %s", s, want)
	}
	d := Default()
	if p, err := d.Auth.TrustedProxyPrefixes(); err != nil || len(p) != 0 {
		t.Fatalf("default trusts %v (%v), want nobody", p, err)
	}
}
