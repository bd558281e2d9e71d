package httproute_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

const endpointsKey = "devgate.dev/endpoints"

// endpoints is the expected endpoints annotation for hosts.
func endpoints(hosts ...string) map[string]string {
	urls := make([]string, len(hosts))
	for i, h := range hosts {
		urls[i] = "https://" + h
	}
	return map[string]string{endpointsKey: strings.Join(urls, ",")}
}

// with adds annotations to m.
func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

const (
	webAlice = "web-alice.okteto.example.com"
	apiAlice = "api-alice.okteto.example.com"
	rule     = "{backendRefs: $BACKEND}"
)

func TestHostnames(t *testing.T) {
	runRouteCases(t, []routeCase{{
		name:        "no hostnames: <name>-<namespace>.<domain>, and the Gateway",
		meta:        "{name: web}",
		spec:        "{rules: [" + rule + "]}",
		wantSpec:    "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: [" + rule + "]}",
		annotations: endpoints(webAlice),
	}, {
		name:        "allowed hostnames kept, recorded in order and once",
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], hostnames: [" + apiAlice + ", alice.okteto.example.com, " + apiAlice + "], rules: [" + rule + "]}",
		annotations: endpoints(apiAlice, "alice.okteto.example.com"),
	}, {
		name:    "wildcard denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: ['*.okteto.example.com']}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "wildcard hosts are not allowed: must be <name>-alice.okteto.example.com or alice.okteto.example.com"}},
	}, {
		name:    "wildcard under the namespace's own label denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: ['*.alice.okteto.example.com']}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "wildcard hosts are not allowed"}},
	}, {
		name:    "foreign domain denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [web.example.org]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "the host is not under the domain okteto.example.com"}},
	}, {
		name:    "another namespace's suffix denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [web-bob.okteto.example.com]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", `the first label "web-bob" does not end with the namespace "alice"`}},
	}, {
		name:    "two labels before the domain denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [a.web-alice.okteto.example.com]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "only one label may precede okteto.example.com"}},
	}, {
		name:    "label over 63 characters denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [" + strings.Repeat("a", 58) + "-alice.okteto.example.com]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "is 64 characters long, at most 63 are allowed"}},
	}, {
		name:        "label of exactly 63 characters allowed",
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], hostnames: [" + strings.Repeat("a", 57) + "-alice.okteto.example.com]}",
		annotations: endpoints(strings.Repeat("a", 57) + "-alice.okteto.example.com"),
	}, {
		name:    "upper case denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [Web-alice.okteto.example.com]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "the host must be lower case"}},
	}, {
		name:    "bare domain denied",
		meta:    "{name: web}",
		spec:    "{parentRefs: [$GW], hostnames: [okteto.example.com]}",
		denials: []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", "the bare domain okteto.example.com belongs to the platform"}},
	}, {
		name:        "second hostname denied at its index, the first recorded",
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], hostnames: [" + webAlice + ", web.example.org]}",
		denials:     []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[1]", "not under the domain"}},
		annotations: endpoints(webAlice),
	}, {
		name:     "a host of a longer namespace that exists is that namespace's",
		ns:       "a",
		meta:     "{name: web}",
		spec:     "{parentRefs: [$GW], hostnames: [web-team-a.okteto.example.com]}",
		existing: []string{"team-a"},
		denials:  []wantErr{{field.ErrorTypeInvalid, "spec.hostnames[0]", `the host belongs to the namespace "team-a"`}},
	}, {
		name:        "the same host while the longer namespace does not exist",
		ns:          "a",
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], hostnames: [web-team-a.okteto.example.com]}",
		annotations: endpoints("web-team-a.okteto.example.com"),
	}, {
		name:        `generate-host "true" replaces the hostnames, with a warning`,
		meta:        "{name: web, annotations: {dev.okteto.com/generate-host: 'true'}}",
		spec:        "{parentRefs: [$GW], hostnames: [" + apiAlice + ", web.example.org, " + webAlice + "]}",
		wantSpec:    "{parentRefs: [$GW], hostnames: [" + webAlice + "]}",
		warnings:    []string{"HTTPRoute alice/web: dev.okteto.com/generate-host: the hostname " + webAlice + " replaces " + apiAlice + ", web.example.org"},
		annotations: with(endpoints(webAlice), "dev.okteto.com/generate-host", "true"),
	}, {
		name:        `generate-host "domain": <namespace>.<domain>`,
		meta:        "{name: web, annotations: {dev.okteto.com/generate-host: domain}}",
		spec:        "{parentRefs: [$GW]}",
		wantSpec:    "{parentRefs: [$GW], hostnames: [alice.okteto.example.com]}",
		annotations: with(endpoints("alice.okteto.example.com"), "dev.okteto.com/generate-host", "domain"),
	}, {
		name:        "generate-host label: <label>-<namespace>.<domain>",
		meta:        "{name: web, annotations: {dev.okteto.com/generate-host: api}}",
		spec:        "{parentRefs: [$GW]}",
		wantSpec:    "{parentRefs: [$GW], hostnames: [" + apiAlice + "]}",
		annotations: with(endpoints(apiAlice), "dev.okteto.com/generate-host", "api"),
	}, {
		name:        `generate-host "false" is as if absent`,
		meta:        "{name: web, annotations: {dev.okteto.com/generate-host: 'false'}}",
		spec:        "{parentRefs: [$GW], hostnames: [" + apiAlice + "]}",
		annotations: with(endpoints(apiAlice), "dev.okteto.com/generate-host", "false"),
	}, {
		name:        "generate-host not a DNS label denied, hostnames not judged",
		meta:        "{name: web, annotations: {dev.okteto.com/generate-host: API}}",
		spec:        "{parentRefs: [$GW], hostnames: ['*.example.org']}",
		denials:     []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[dev.okteto.com/generate-host]", `must be "true", "domain" or a DNS label such as "api"`}},
		annotations: map[string]string{"dev.okteto.com/generate-host": "API"},
	}, {
		name:        "generate-host true with a name too long denied, saying what to shorten",
		meta:        "{name: " + strings.Repeat("w", 58) + ", annotations: {dev.okteto.com/generate-host: 'true'}}",
		spec:        "{parentRefs: [$GW]}",
		denials:     []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[dev.okteto.com/generate-host]", "shorten the HTTPRoute name"}},
		annotations: map[string]string{"dev.okteto.com/generate-host": "true"},
	}, {
		name:    "no hostnames and no name (generateName) denied",
		meta:    "{generateName: web-}",
		spec:    "{parentRefs: [$GW]}",
		denials: []wantErr{{field.ErrorTypeRequired, "spec.hostnames", "matches every host of its Gateway's listeners"}},
	}, {
		name:         "no hostnames, the mutating webhook did not run: denied",
		meta:         "{name: web}",
		spec:         "{parentRefs: [$GW]}",
		validateOnly: true,
		denials:      []wantErr{{field.ErrorTypeRequired, "spec.hostnames", "set a hostname (<name>-alice.okteto.example.com or alice.okteto.example.com)"}},
	}, {
		name:        "endpoints annotation overwritten by the hostnames",
		meta:        "{name: web, annotations: {devgate.dev/endpoints: 'https://evil.example.org'}}",
		spec:        "{parentRefs: [$GW], hostnames: [" + webAlice + "]}",
		annotations: endpoints(webAlice),
	}, {
		name:      "unmanaged namespace untouched",
		ns:        "kube-system",
		meta:      "{name: web}",
		spec:      "{parentRefs: [{name: anything}], hostnames: ['*']}",
		unhandled: true,
	}})
}

func TestParentRefs(t *testing.T) {
	host := "hostnames: [" + webAlice + "]"
	section := func(c *config.Config) { c.Endpoints.Gateway.SectionName = "https" }
	runRouteCases(t, []routeCase{{
		name:        "the configured Gateway without group and kind allowed, untouched",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{namespace: gateways, name: public}], " + host + "}",
		annotations: endpoints(webAlice),
	}, {
		name:        "the configured Gateway on a listener of it allowed",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{namespace: gateways, name: public, sectionName: https, port: 443}], " + host + "}",
		annotations: endpoints(webAlice),
	}, {
		name:        "another Gateway denied",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{namespace: gateways, name: internal}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", "the parentRef Gateway gateways/internal is not the platform's Gateway: an HTTPRoute may attach only to the platform's Gateway gateways/public"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a Gateway of the route's namespace (no namespace) denied",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{name: public}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", "the parentRef Gateway alice/public is not the platform's Gateway"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a Service parent (mesh route) denied",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{group: '', kind: Service, namespace: bob, name: api}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", "the parentRef Service (core group) bob/api is not a Gateway"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a ListenerSet parent denied",
		meta:        "{name: web}",
		spec:        "{parentRefs: [{kind: ListenerSet, namespace: gateways, name: public}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", "the parentRef ListenerSet gateways/public is not a Gateway"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "the second parentRef denied at its index",
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW, {group: example.com, kind: Gateway, namespace: gateways, name: public}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[1]", "the parentRef Gateway.example.com gateways/public is not a Gateway"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "sectionName configured: no parentRefs get it",
		cfg:         section,
		meta:        "{name: web}",
		spec:        "{" + host + "}",
		wantSpec:    "{parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gateways, name: public, sectionName: https}], " + host + "}",
		annotations: endpoints(webAlice),
	}, {
		name:        "sectionName configured: a parentRef without it denied",
		cfg:         section,
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", `names no sectionName, which attaches to every listener of the Gateway: an HTTPRoute may attach only to the platform's Gateway gateways/public (sectionName "https")`}},
		annotations: endpoints(webAlice),
	}, {
		name:        "sectionName configured: another listener denied",
		cfg:         section,
		meta:        "{name: web}",
		spec:        "{parentRefs: [{namespace: gateways, name: public, sectionName: internal}], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", `names the listener "internal"`}},
		annotations: endpoints(webAlice),
	}, {
		name:        "no Gateway configured: a route without parentRefs stays unattached",
		ingressMode: true,
		meta:        "{name: web}",
		spec:        "{" + host + "}",
		annotations: endpoints(webAlice),
	}, {
		name:        "no Gateway configured: every parentRef denied",
		ingressMode: true,
		meta:        "{name: web}",
		spec:        "{parentRefs: [$GW], " + host + "}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.parentRefs[0]", "no Gateway is configured for HTTPRoutes (endpoints.gateway)"}},
		annotations: endpoints(webAlice),
	}})
}

func TestPrivate(t *testing.T) {
	private := "{name: web, annotations: {dev.okteto.com/private: 'true'}}"
	privateAnn := with(endpoints(webAlice), "dev.okteto.com/private", "true")
	head := "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: "
	header := "{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: b}]}}"
	runRouteCases(t, []routeCase{{
		name:        "every rule gets the filter, first",
		meta:        private,
		spec:        head + "[{backendRefs: $BACKEND}, {filters: [" + header + "], backendRefs: $BACKEND}]}",
		wantSpec:    head + "[{filters: [$AUTH], backendRefs: $BACKEND}, {filters: [$AUTH, " + header + "], backendRefs: $BACKEND}]}",
		annotations: privateAnn,
	}, {
		name:        "a route without rules gets the CRD's default rule with the filter",
		meta:        private,
		spec:        "{parentRefs: [$GW], hostnames: [" + webAlice + "]}",
		wantSpec:    head + "[{matches: [{path: {type: PathPrefix, value: /}}], filters: [$AUTH]}]}",
		annotations: privateAnn,
	}, {
		name:        "the filter as devgate writes it allowed, untouched",
		meta:        private,
		spec:        head + "[{filters: [$AUTH], backendRefs: $BACKEND}]}",
		annotations: privateAnn,
	}, {
		name: "the filter without backendRef group and kind (the CRD's defaults) allowed",
		meta: private,
		spec: head + `[{filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: devgate-auth, namespace: devgate, port: 80},` +
			` http: {path: /auth/verify/alice, allowedHeaders: [Cookie, X-Forwarded-For, X-Forwarded-Proto], allowedResponseHeaders: [X-Auth-Request-User, X-Auth-Request-Email]}}}]}]}`,
		annotations: privateAnn,
	}, {
		name:        "another namespace's path denied",
		meta:        private,
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "/auth/verify/alice", "/auth/verify/bob", 1) + "]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.http.path differs"}},
		annotations: privateAnn,
	}, {
		name:        "another backend denied",
		meta:        private,
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "name: devgate-auth", "name: fake-auth", 1) + "]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.backendRef (namespace and name) differs"}},
		annotations: privateAnn,
	}, {
		name:        "another port denied",
		meta:        private,
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "port: 80", "port: 81", 1) + "]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.backendRef.port differs"}},
		annotations: privateAnn,
	}, {
		name:        "other allowed response headers denied",
		meta:        private,
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "allowedResponseHeaders: [X-Auth-Request-User, X-Auth-Request-Email]", "allowedResponseHeaders: [X-Auth-Request-User]", 1) + "]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.http.allowedResponseHeaders differs"}},
		annotations: privateAnn,
	}, {
		name:        "no Cookie among the allowed headers denied",
		meta:        private,
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "[Cookie, ", "[", 1) + "]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.http.allowedHeaders differs"}},
		annotations: privateAnn,
	}, {
		name:        "gRPC protocol denied",
		meta:        private,
		spec:        head + "[{filters: [{type: ExternalAuth, externalAuth: {protocol: GRPC, backendRef: {name: devgate-auth, namespace: devgate, port: 80}, grpc: {}}}]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0]", "its externalAuth.protocol differs"}},
		annotations: privateAnn,
	}, {
		name:         "a rule without the filter (the mutating webhook did not run) denied",
		meta:         private,
		spec:         head + "[{filters: [$AUTH]}, {backendRefs: $BACKEND}]}",
		validateOnly: true,
		denials:      []wantErr{{field.ErrorTypeRequired, "spec.rules[1].filters", "every rule of a private HTTPRoute needs devgate's ExternalAuth filter (type ExternalAuth, protocol HTTP, backendRef Service devgate/devgate-auth port 80, http.path /auth/verify/alice"}},
	}, {
		name:         "no rules (the mutating webhook did not run) denied",
		meta:         private,
		spec:         "{parentRefs: [$GW], hostnames: [" + webAlice + "]}",
		validateOnly: true,
		denials:      []wantErr{{field.ErrorTypeRequired, "spec.rules", "a private HTTPRoute needs rules"}},
	}, {
		name:        "private value other than true/false denied",
		meta:        "{name: web, annotations: {dev.okteto.com/private: 'yes'}}",
		spec:        head + "[" + rule + "]}",
		denials:     []wantErr{{field.ErrorTypeNotSupported, "metadata.annotations[dev.okteto.com/private]", `supported values: "true", "false"`}},
		annotations: with(endpoints(webAlice), "dev.okteto.com/private", "yes"),
	}, {
		name:        "private without an auth service configured denied",
		ingressMode: true,
		meta:        private,
		spec:        "{hostnames: [" + webAlice + "], rules: [" + rule + "]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "metadata.annotations[dev.okteto.com/private]", "endpoints.authService"}},
		annotations: privateAnn,
	}, {
		name:        "private false: devgate's filter removed, with a warning",
		meta:        "{name: web, annotations: {dev.okteto.com/private: 'false'}}",
		spec:        head + "[{filters: [$AUTH, " + header + "]}, {filters: [$AUTH]}]}",
		wantSpec:    head + "[{filters: [" + header + "]}, {}]}",
		warnings:    []string{`HTTPRoute alice/web is not private (dev.okteto.com/private is not "true"): removed devgate's ExternalAuth filter from 2 rule(s)`},
		annotations: with(endpoints(webAlice), "dev.okteto.com/private", "false"),
	}, {
		name:        "not private: a tenant's own ExternalAuth filter kept",
		meta:        "{name: web}",
		spec:        head + "[{filters: [" + strings.Replace(authFilter, "namespace: devgate", "namespace: alice", 1) + "]}]}",
		annotations: endpoints(webAlice),
	}, {
		name: "custom auth service and response headers",
		cfg: func(c *config.Config) {
			c.Endpoints.AuthService = config.AuthServiceRef{Namespace: "platform", Name: "auth", Port: 8082, VerifyPath: "/verify"}
			c.PrivateEndpoints.ResponseHeaders = []string{"X-User"}
		},
		meta: private,
		spec: head + "[" + rule + "]}",
		wantSpec: head + `[{filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {group: "", kind: Service, name: auth, namespace: platform, port: 8082},` +
			` http: {path: /verify/alice, allowedHeaders: [Cookie, X-Forwarded-For, X-Forwarded-Proto], allowedResponseHeaders: [X-User]}}}], backendRefs: $BACKEND}]}`,
		annotations: privateAnn,
	}})
}
