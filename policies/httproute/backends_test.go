package httproute_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestBackends: an HTTPRoute sends requests only to its own namespace's
// backends; only devgate's ExternalAuth filter names the auth Service.
func TestBackends(t *testing.T) {
	head := "{parentRefs: [$GW], hostnames: [" + webAlice + "], rules: "
	mirror := func(ns string) string {
		return "{type: RequestMirror, requestMirror: {backendRef: {name: web, namespace: " + ns + ", port: 8080}}}"
	}
	ownAuth := `{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: auth, namespace: %s, port: 80}, http: {path: /check}}}`
	const other = "the backendRef Service devgate/devgate-auth is of another namespace: an HTTPRoute may send requests only to backends of its own namespace \"alice\""
	runRouteCases(t, []routeCase{{
		name:        "a backend of the route's own namespace, named, allowed",
		meta:        "{name: web}",
		spec:        head + "[{backendRefs: [{name: web, namespace: alice, port: 8080}]}]}",
		annotations: endpoints(webAlice),
	}, {
		name:        "the auth Service as a backend denied",
		meta:        "{name: web}",
		spec:        head + "[{backendRefs: [{name: devgate-auth, namespace: devgate, port: 80}]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].backendRefs[0].namespace", other}},
		annotations: endpoints(webAlice),
	}, {
		name:        "another namespace's Service as the second backend denied at its index",
		meta:        "{name: web}",
		spec:        head + "[{backendRefs: $BACKEND}, {backendRefs: [{name: web, port: 8080}, {name: api, namespace: bob, port: 80}]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[1].backendRefs[1].namespace", "the backendRef Service bob/api is of another namespace"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a request mirror to another namespace denied",
		meta:        "{name: web}",
		spec:        head + "[{filters: [" + mirror("bob") + "], backendRefs: $BACKEND}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0].requestMirror.backendRef.namespace", "the backendRef Service bob/web is of another namespace"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a backend's own request mirror to another namespace denied",
		meta:        "{name: web}",
		spec:        head + "[{backendRefs: [{name: web, port: 8080, filters: [" + mirror("bob") + "]}]}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].backendRefs[0].filters[0].requestMirror.backendRef.namespace", "the backendRef Service bob/web is of another namespace"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a request mirror in the own namespace allowed",
		meta:        "{name: web}",
		spec:        head + "[{filters: [" + mirror("alice") + "], backendRefs: $BACKEND}]}",
		annotations: endpoints(webAlice),
	}, {
		name:        "a public route's own ExternalAuth to another namespace denied",
		meta:        "{name: web}",
		spec:        head + "[{filters: [" + strings.Replace(ownAuth, "%s", "bob", 1) + "], backendRefs: $BACKEND}]}",
		denials:     []wantErr{{field.ErrorTypeForbidden, "spec.rules[0].filters[0].externalAuth.backendRef.namespace", "the backendRef Service bob/auth is of another namespace"}},
		annotations: endpoints(webAlice),
	}, {
		name:        "a public route's own ExternalAuth in its namespace allowed",
		meta:        "{name: web}",
		spec:        head + "[{filters: [" + strings.Replace(ownAuth, "%s", "alice", 1) + "], backendRefs: $BACKEND}]}",
		annotations: endpoints(webAlice),
	}, {
		name:        "a private route's filter names the auth Service: allowed, no second denial",
		meta:        "{name: web, annotations: {dev.okteto.com/private: 'true'}}",
		spec:        head + "[{filters: [$AUTH], backendRefs: $BACKEND}]}",
		annotations: with(endpoints(webAlice), "dev.okteto.com/private", "true"),
	}})
}
