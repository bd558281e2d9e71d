package auth

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies/tokens"
)

const testIssuer = "https://idp.example.com/"

func TestParseConnector(t *testing.T) {
	for _, tc := range []struct {
		name string
		data map[string]string
		// err is part of the error; empty: valid.
		err   string
		check func(t *testing.T, c *connector)
	}{
		{name: "defaults", check: func(t *testing.T, c *connector) {
			if c.UsernameClaim != "email" || c.GroupsClaim != "groups" || strings.Join(c.Scopes, " ") != "openid email profile" ||
				c.IgnoreEmailVerified || c.UsernamePref != "" || c.GroupsPrefix != "" || c.Name != "Corp SSO" || c.ID != "corp" {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "name defaults to the Secret's", data: map[string]string{keyConnectorName: ""}, check: func(t *testing.T, c *connector) {
			if c.Name != "corp" {
				t.Fatalf("name %q", c.Name)
			}
		}},
		{name: "openid is always asked", data: map[string]string{keyScopes: "email groups"}, check: func(t *testing.T, c *connector) {
			if strings.Join(c.Scopes, " ") != "openid email groups" {
				t.Fatalf("scopes %v", c.Scopes)
			}
		}},
		{name: "claims and prefixes", data: map[string]string{keyUsernameClaim: "preferred_username", keyUsernamePrefix: "corp:",
			keyGroupsClaim: "roles", keyGroupsPrefix: "corp:", keyIgnoreEmailVerified: "true"}, check: func(t *testing.T, c *connector) {
			if c.UsernameClaim != "preferred_username" || c.UsernamePref != "corp:" || c.GroupsClaim != "roles" || c.GroupsPrefix != "corp:" || !c.IgnoreEmailVerified {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "http issuer on localhost", data: map[string]string{tokens.KeyIssuer: "http://127.0.0.1:5556/dex"}},
		{name: "no issuer", data: map[string]string{tokens.KeyIssuer: ""}, err: "issuer"},
		{name: "no client secret", data: map[string]string{tokens.KeyClientSecret: ""}, err: "client_secret"},
		{name: "http issuer elsewhere", data: map[string]string{tokens.KeyIssuer: "http://idp.example.com/"}, err: "https"},
		{name: "issuer with a query", data: map[string]string{tokens.KeyIssuer: "https://idp.example.com/?x=1"}, err: "query"},
		{name: "redirect_uri not a URL", data: map[string]string{tokens.KeyRedirectURI: "callback"}, err: "redirect_uri"},
		{name: "ignore_email_verified not a boolean", data: map[string]string{keyIgnoreEmailVerified: "yes please"}, err: "ignore_email_verified"},
		{name: "system: username prefix", data: map[string]string{keyUsernamePrefix: "system:"}, err: "system:"},
		{name: "system: groups prefix", data: map[string]string{keyGroupsPrefix: "system:x-"}, err: "system:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConnector(connectorSecret("corp", testIssuer, tc.data))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one naming %q", err, tc.err)
			case err == nil && tc.check != nil:
				tc.check(t, c)
			}
			if err != nil && strings.Contains(err.Error(), testClientSecret) {
				t.Fatal("the error shows the client secret")
			}
		})
	}
}

func TestConnectorsReplace(t *testing.T) {
	var logs []string
	set := NewConnectors(funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{}))
	reg := prometheus.NewRegistry()
	set.register(reg)
	bad := connectorSecret("broken", testIssuer, map[string]string{tokens.KeyClientID: ""})
	notConnector := connectorSecret("token", testIssuer, nil)
	notConnector.Type = tokens.TypeToken
	secrets := []corev1.Secret{*connectorSecret("corp", testIssuer, nil), *bad, *notConnector}
	set.Replace(secrets)
	set.Replace(secrets) // the same versions: logged once
	if !set.Has("corp") || set.Has("broken") || set.Has("token") {
		t.Fatalf("valid connectors: %v", set.list())
	}
	if v, i := testutil.ToFloat64(set.gauge.WithLabelValues("valid")), testutil.ToFloat64(set.gauge.WithLabelValues("invalid")); v != 1 || i != 1 {
		t.Fatalf("devgate_auth_connectors valid %v invalid %v, want 1 and 1", v, i)
	}
	invalid := 0
	for _, l := range logs {
		if strings.Contains(l, "invalid") {
			invalid++
			if !strings.Contains(l, "client_id") || !strings.Contains(l, "devgate/broken") {
				t.Errorf("log line %s does not name the Secret and the key", l)
			}
		}
		if strings.Contains(l, testClientSecret) {
			t.Fatalf("a log line holds the client secret: %s", l)
		}
	}
	if invalid != 1 {
		t.Fatalf("%d log lines for the invalid connector, want 1: %v", invalid, logs)
	}
	// Fixed: it counts as valid; removed: gone, sessions end.
	fixed := connectorSecret("broken", testIssuer, nil)
	fixed.ResourceVersion = "2"
	set.Replace([]corev1.Secret{*connectorSecret("corp", testIssuer, nil), *fixed})
	if !set.Has("broken") || testutil.ToFloat64(set.gauge.WithLabelValues("invalid")) != 0 {
		t.Fatal("a fixed connector stays invalid")
	}
	set.Replace(nil)
	if set.Has("corp") || len(set.list()) != 0 || testutil.ToFloat64(set.gauge.WithLabelValues("valid")) != 0 {
		t.Fatal("removed connectors are still in force")
	}
	var none *Connectors
	if none.Has("corp") || none.list() != nil {
		t.Fatal("a nil set has connectors")
	}
}
