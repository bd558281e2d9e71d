package ingress_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

const (
	privateKy = "dev.okteto.com/private"
	urlKy     = "nginx.ingress.kubernetes.io/auth-url"
	signinKy  = "nginx.ingress.kubernetes.io/auth-signin"
	headersKy = "nginx.ingress.kubernetes.io/auth-response-headers"
	goodSpec  = "{rules: [{host: web-alice.okteto.example.com, http: $HTTP}], tls: [{hosts: [web-alice.okteto.example.com]}]}"
	webURL    = "https://web-alice.okteto.example.com"
)

// privateCase is a private Ingress on a good host with extra annotations
// (flow-style YAML entries) and the exact annotations expected after mutation.
func privateCase(name, private, extra string, want map[string]string) ingCase {
	meta := "{name: web, annotations: {dev.okteto.com/private: '" + private + "'"
	if extra != "" {
		meta += ", " + extra
	}
	want[endpointsKy] = webURL
	if private != "" {
		want[privateKy] = private
	}
	return ingCase{name: name, meta: meta + "}}", spec: goodSpec, annotations: want}
}

// injected are the annotations of a private endpoint plus extra ones.
func injected(extra map[string]string) map[string]string {
	m := map[string]string{urlKy: authURL, signinKy: authSignin, headersKy: authHeaders}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func annField(key string) string { return "metadata.annotations[" + key + "]" }

// TestPrivate: SPEC 4, private endpoints on Ingresses.
func TestPrivate(t *testing.T) {
	cases := []ingCase{
		privateCase("true injects the three annotations", "true", "", injected(nil)),
		privateCase("already injected: nothing to do", "true",
			"'"+urlKy+"': '"+authURL+"', '"+signinKy+"': '"+authSignin+"', '"+headersKy+"': '"+authHeaders+"'", injected(nil)),
		privateCase("false injects nothing", "false", "", map[string]string{}),
	}

	// A tenant's differing value is never overwritten, and denied.
	for _, d := range []struct{ key, value, exp string }{
		{urlKy, "https://auth.example.org/verify", authURL},
		{signinKy, "https://okteto.example.com/auth/signin", authSignin},
		{headersKy, "X-Auth-Request-User", authHeaders},
	} {
		c := privateCase("differing "+d.key, "true", "'"+d.key+"': '"+d.value+"'", injected(map[string]string{d.key: d.value}))
		c.denials = []wantErr{{field.ErrorTypeInvalid, annField(d.key), "a private endpoint's " + d.key + " must be exactly " + mustJSON(d.exp)}}
		cases = append(cases, c)
	}
	// Any other auth-* annotation.
	for _, key := range []string{"auth-type", "auth-secret", "auth-realm", "auth-method", "auth-cache-key", "auth-proxy-set-headers", "auth-tls-secret", "auth-tls-verify-client", "auth-always-set-cookie"} {
		k := "nginx.ingress.kubernetes.io/" + key
		c := privateCase("other "+key, "true", "'"+k+"': 'x'", injected(map[string]string{k: "x"}))
		c.denials = []wantErr{{field.ErrorTypeForbidden, annField(k), `"x": a private endpoint allows no nginx.ingress.kubernetes.io/auth-* annotation besides devgate's`}}
		cases = append(cases, c)
	}
	satisfy := privateCase("satisfy", "true", "nginx.ingress.kubernetes.io/satisfy: any", injected(map[string]string{"nginx.ingress.kubernetes.io/satisfy": "any"}))
	satisfy.denials = []wantErr{{field.ErrorTypeForbidden, annField("nginx.ingress.kubernetes.io/satisfy"), `"any": not allowed on a private endpoint`}}
	cases = append(cases, satisfy)
	for _, v := range []string{"false", "False", "0", "f"} {
		k := "nginx.ingress.kubernetes.io/enable-global-auth"
		c := privateCase("enable-global-auth "+v, "true", "'"+k+"': '"+v+"'", injected(map[string]string{k: v}))
		c.denials = []wantErr{{field.ErrorTypeInvalid, annField(k), "a private endpoint must not turn ingress-nginx's global authentication off"}}
		cases = append(cases, c)
	}
	cases = append(cases, privateCase("enable-global-auth true is allowed", "true",
		"nginx.ingress.kubernetes.io/enable-global-auth: 'true'", injected(map[string]string{"nginx.ingress.kubernetes.io/enable-global-auth": "true"})))

	for _, v := range []string{"yes", "True", ""} {
		c := privateCase("invalid value "+mustJSON(v), v, "", map[string]string{privateKy: v})
		c.denials = []wantErr{{field.ErrorTypeNotSupported, annField(privateKy), ""}}
		cases = append(cases, c)
	}

	// Not private: the tenant's own auth is its business; devgate's goes.
	cases = append(cases,
		privateCase("not private: the tenant's auth-* stay", "false",
			"'"+urlKy+"': 'https://auth.example.org/verify', nginx.ingress.kubernetes.io/satisfy: any",
			map[string]string{urlKy: "https://auth.example.org/verify", "nginx.ingress.kubernetes.io/satisfy": "any"}),
		func() ingCase {
			c := privateCase("no longer private: devgate's annotations go", "false",
				"'"+urlKy+"': '"+authURL+"', '"+signinKy+"': '"+authSignin+"', '"+headersKy+"': 'X-Mine'",
				map[string]string{headersKy: "X-Mine"})
			c.warnings = []string{`Ingress alice/web is not private (dev.okteto.com/private is not "true"): removed devgate's authentication annotations ` + urlKy + ", " + signinKy}
			return c
		}(),
		func() ingCase {
			c := ingCase{
				name:        "annotation removed: devgate's annotations go",
				meta:        "{name: web, annotations: {'" + urlKy + "': '" + authURL + "'}}",
				oldMeta:     "{name: web, annotations: {dev.okteto.com/private: 'true', '" + urlKy + "': '" + authURL + "'}}",
				spec:        goodSpec,
				oldSpec:     goodSpec,
				annotations: map[string]string{endpointsKy: webURL},
			}
			c.warnings = []string{`Ingress alice/web is not private (dev.okteto.com/private is not "true"): removed devgate's authentication annotations ` + urlKy}
			return c
		}(),
	)

	custom := privateCase("configured URLs and headers", "true", "", map[string]string{
		urlKy:     "https://auth.internal.example.org/v?namespace=alice",
		signinKy:  "https://login.example.org/s?rd=$scheme://$host$escaped_request_uri",
		headersKy: "X-User",
	})
	custom.cfg = func(c *config.Config) {
		c.PrivateEndpoints.AuthURL = "https://auth.internal.example.org/v"
		c.PrivateEndpoints.SigninURL = "https://login.example.org/s"
		c.PrivateEndpoints.ResponseHeaders = []string{"X-User"}
	}
	cases = append(cases, custom)
	runIngressCases(t, cases)
}

// TestPrivateValidateOnly: the validating webhook alone denies a private
// Ingress without the auth annotations (the mutating webhook did not run).
func TestPrivateValidateOnly(t *testing.T) {
	c := privateCase("", "true", "", map[string]string{})
	out := eng.Validate(inputOf(t, c), config.Default(), nil)
	checkDenials(t, out.Denials, []wantErr{
		{field.ErrorTypeRequired, annField(urlKy), "a private endpoint needs " + urlKy + ": " + mustJSON(authURL)},
		{field.ErrorTypeRequired, annField(signinKy), "a private endpoint needs " + signinKy},
		{field.ErrorTypeRequired, annField(headersKy), "a private endpoint needs " + headersKy},
	})
}
