package ingress_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

const cveClass = "the configuration-injection class of CVE-2021-25742, CVE-2023-5043, CVE-2025-24514 (auth-url), CVE-2025-1097 (auth-tls-match-cn) and CVE-2025-1098 (mirror-*)"

// withAnnotation is an Ingress on a good host carrying one more annotation.
func withAnnotation(name, key, value string) ingCase {
	return ingCase{
		name: name,
		meta: "{name: web, annotations: {" + mustJSON(key) + ": " + mustJSON(value) + "}}",
		spec: "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [web-alice.okteto.example.com]}]}",
		annotations: map[string]string{
			key:         value,
			endpointsKy: "https://web-alice.okteto.example.com",
		},
	}
}

// TestSnippets: SPEC 3, denySnippets.
func TestSnippets(t *testing.T) {
	var cases []ingCase
	for _, key := range []string{"configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet", "modsecurity-snippet"} {
		c := withAnnotation(key, "nginx.ingress.kubernetes.io/"+key, "proxy_set_header X-Real-IP $remote_addr")
		c.denials = []wantErr{{field.ErrorTypeForbidden, "metadata.annotations[nginx.ingress.kubernetes.io/" + key + "]",
			"nginx configuration snippets are not allowed on tenant Ingresses: they inject raw nginx configuration (" + cveClass + ")"}}
		cases = append(cases, c)
	}
	// One injection character per case, each on an annotation of the CVE it recalls.
	for _, in := range []struct{ what, key, value, found string }{
		{"newline", "auth-url", "http://auth.example.org/\nproxy_pass http://evil", "a newline"},
		{"carriage return", "auth-url", "http://auth.example.org/\rx", "a carriage return"},
		{"semicolon", "auth-tls-match-cn", "CN=a;}", `";", "}"`},
		{"semicolon alone", "mirror-target", "http://evil;", `";"`},
		{"opening brace", "mirror-host", "{", `"{"`},
		{"closing brace", "rewrite-target", "/}", `"}"`},
		{"hash", "permanent-redirect", "https://example.org/#x", `"#"`},
		{"backtick", "auth-signin", "https://x/`id`", "a backtick"},
		{"command substitution", "upstream-vhost", "$(id)", `"$("`},
		{"backslash", "proxy-redirect-to", `https://x/\`, "a backslash"},
		{"double quote", "upstream-vhost", `web" ; x`, `";", a double quote`},
		{"double quote alone", "auth-signin", `https://x/"`, "a double quote"},
		{"single quote", "proxy-cookie-path", "/ '/x", "a single quote"},
		{"all three", "x-forwarded-prefix", `\"'`, "a backslash, a double quote, a single quote"},
	} {
		c := withAnnotation("injection: "+in.what, "nginx.ingress.kubernetes.io/"+in.key, in.value)
		c.denials = []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[nginx.ingress.kubernetes.io/" + in.key + "]",
			"contains " + in.found + ", which can inject nginx configuration (" + cveClass + ")"}}
		cases = append(cases, c)
	}
	// The message lists every character denied.
	all := withAnnotation("message lists the characters", "nginx.ingress.kubernetes.io/upstream-vhost", `a'b`)
	all.denials = []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[nginx.ingress.kubernetes.io/upstream-vhost]",
		"contains a single quote, which can inject nginx configuration (" + cveClass + `): ingress-nginx annotation values must not contain a newline, ";", "{", "}", "#", a backtick, "$(", a backslash or a quote (" or ')`}}
	cases = append(cases, all)
	cases = append(cases,
		withAnnotation("a dollar without parenthesis is allowed", "nginx.ingress.kubernetes.io/rewrite-target", "/$1"),
		withAnnotation("other annotations are not nginx's", "example.org/notes", "a; b {c} #d `e` $(f)"),
	)
	off := withAnnotation("denySnippets false allows snippets", "nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers \"X: y\";")
	off.cfg = func(c *config.Config) { f := false; c.DenySnippets = &f }
	cases = append(cases, off)

	huge := withAnnotation("a huge value is cut in the message", "nginx.ingress.kubernetes.io/auth-url", strings.Repeat("a", 300000)+";")
	huge.denials = []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[nginx.ingress.kubernetes.io/auth-url]", `contains ";"`}}
	cases = append(cases, huge)
	runIngressCases(t, cases)
}

func TestSnippetMessageCutsHugeValues(t *testing.T) {
	c := withAnnotation("", "nginx.ingress.kubernetes.io/auth-url", strings.Repeat("a", 300000)+";")
	out := eng.Admit(inputOf(t, c), config.Default(), nil)
	if len(out.Denials) != 1 {
		t.Fatalf("denials %v", out.Denials)
	}
	if msg := out.Denials[0].Error(); len(msg) > 2000 || !strings.Contains(msg, "... (300001 bytes)") {
		t.Fatalf("message of %d bytes: %.300s", len(msg), msg)
	}
}
