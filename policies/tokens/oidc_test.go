package tokens_test

import (
	"testing"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

var connector = map[string]string{
	"issuer":        "https://example.okta.com/",
	"client_id":     "0oa1b2c3d4",
	"client_secret": clientSecr,
	"redirect_uri":  "https://pachyderm.example.com:30657/authorization-code/callback",
}

func oidc(data map[string]string) *obj {
	return &obj{name: "okta", typ: tokens.TypeOIDCConnector, data: data}
}

func issuerCase(url, denial string) admission {
	c := admission{name: "issuer " + url, user: alice, obj: oidc(with(connector, "issuer", url))}
	if denial != "" {
		c.denials = []string{"data[issuer]: Invalid value"}
		c.detail = denial
	}
	return c
}

func redirectCase(url, denial string) admission {
	c := admission{name: "redirect_uri " + url, user: alice, obj: oidc(with(connector, "redirect_uri", url))}
	if denial != "" {
		c.denials = []string{"data[redirect_uri]: Invalid value"}
		c.detail = denial
	}
	return c
}

const (
	notAbsoluteIssuer   = "must be an absolute https URL with a host, e.g. https://example.okta.com/"
	notHTTPS            = "must use https; http is allowed only for localhost and 127.0.0.1"
	notAbsoluteRedirect = "must be an absolute http(s) URL with a host, e.g. https://app.example.com/callback"
)

// oidcCases are the rules of SPEC 5.5.
var oidcCases = []admission{
	{name: "complete", user: alice, obj: oidc(connector)},
	{name: "complete in stringData", user: alice, obj: &obj{name: "okta", typ: tokens.TypeOIDCConnector, stringData: connector}},
	{name: "extra keys are fine", user: alice, obj: oidc(with(connector, "scopes", "openid email"))},
	{name: "update", op: policies.Update, user: alice, old: oidc(connector), obj: oidc(with(connector, "client_id", "other"))},
	{
		name: "missing issuer", user: alice, obj: oidc(with(connector, "issuer", "<delete>")),
		denials: []string{"data[issuer]: Required value"},
	},
	{
		name: "missing client_id", user: alice, obj: oidc(with(connector, "client_id", "<delete>")),
		denials: []string{"data[client_id]: Required value"},
	},
	{
		name: "missing client_secret", user: alice, obj: oidc(with(connector, "client_secret", "<delete>")),
		denials: []string{"data[client_secret]: Required value"},
	},
	{
		name: "empty client_secret", user: alice, obj: oidc(with(connector, "client_secret", "")),
		denials: []string{"data[client_secret]: Required value"},
	},
	{
		name: "missing redirect_uri", user: alice, obj: oidc(with(connector, "redirect_uri", "<delete>")),
		denials: []string{"data[redirect_uri]: Required value"},
	},
	{
		name: "no data at all", user: alice, obj: oidc(nil),
		denials: []string{"data[issuer]: Required value", "data[client_id]: Required value", "data[client_secret]: Required value", "data[redirect_uri]: Required value"},
	},
	{name: "another type is not owned", user: alice, obj: &obj{name: "okta", typ: "Opaque", data: map[string]string{"issuer": "ftp://x"}}},
	{name: "delete is not checked", op: policies.Delete, user: alice, old: oidc(nil)},

	// issuer.
	issuerCase("https://example.okta.com", ""),
	issuerCase("https://example.okta.com/oauth2/default", ""),
	issuerCase("https://example.okta.com:8443/", ""),
	issuerCase("HTTPS://example.okta.com/", ""),
	issuerCase("http://localhost:5556/dex", ""),
	issuerCase("http://localhost", ""),
	issuerCase("http://LocalHost:8080", ""),
	issuerCase("http://127.0.0.1:30658/", ""),
	issuerCase("http://example.okta.com/", `data[issuer]: Invalid value: "http://example.okta.com/": `+notHTTPS),
	issuerCase("http://127.0.0.2/", notHTTPS),
	issuerCase("http://[::1]:5556/", notHTTPS),
	issuerCase("http://localhost.example.com/", notHTTPS),
	issuerCase("ftp://example.okta.com/", "must use https (http only for localhost and 127.0.0.1)"),
	issuerCase("https://example.okta.com/?tenant=1", "must have no query or fragment"),
	issuerCase("https://example.okta.com/?", "must have no query or fragment"),
	issuerCase("https://example.okta.com/#x", "must have no query or fragment"),
	issuerCase("https://example.okta.com/#", "must have no query or fragment"),
	issuerCase("example.okta.com", notAbsoluteIssuer),
	issuerCase("/oauth2/default", notAbsoluteIssuer),
	issuerCase("https://", notAbsoluteIssuer),
	issuerCase("https:///path", notAbsoluteIssuer),
	issuerCase("https:example.okta.com", notAbsoluteIssuer),
	issuerCase("https://:443/", notAbsoluteIssuer),
	issuerCase("https://exa mple.com/", notAbsoluteIssuer),
	issuerCase(" https://example.okta.com/", notAbsoluteIssuer),
	issuerCase("https://example.okta.com/\x00", notAbsoluteIssuer),
	{
		name: "issuer: credentials are masked when echoed", user: alice,
		obj:     oidc(with(connector, "issuer", "http://user:"+secret("p4ssw0rd-in-url")+"@example.com/")),
		denials: []string{"data[issuer]: Invalid value"},
		detail:  `Invalid value: "http://xxxxx@example.com/": must use https`,
	},
	{
		name: "issuer: an unparsable URL with credentials is redacted", user: alice,
		obj:     oidc(with(connector, "issuer", "https://user:"+secret("p4ssw0rd-in-url2")+"@exa mple.com/")),
		denials: []string{"data[issuer]: Invalid value"},
		detail:  `Invalid value: "<redacted>"`,
	},

	// redirect_uri.
	redirectCase("https://app.example.com/callback", ""),
	redirectCase("http://app.example.com/callback", ""),
	redirectCase("http://localhost:30657/authorization-code/callback", ""),
	redirectCase("https://app.example.com/callback?tenant=1", ""),
	redirectCase("https://app.example.com/callback#x", "must have no fragment"),
	redirectCase("ftp://app.example.com/callback", "must use http or https"),
	redirectCase("/callback", notAbsoluteRedirect),
	redirectCase("app.example.com/callback", notAbsoluteRedirect),
	redirectCase("https://", notAbsoluteRedirect),
	redirectCase("mailto:someone@example.com", notAbsoluteRedirect),
}

func TestOIDCConnector(t *testing.T) { runAdmissions(t, oidcCases) }
