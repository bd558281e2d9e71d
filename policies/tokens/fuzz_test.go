package tokens_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

// The fuzzers below cover the token policies FuzzTokenSecret does not:
// guarded Secrets, ServiceAccount token labels and OIDC connectors. Each
// checks that nothing panics, that what is admitted obeys the rule, and that
// no message holds a secret value (marked so that nothing else contains it).

const fuzzMarker = "Zq9#"

// leaks fails when a denial or warning holds the marker.
func leaks(t *testing.T, denials, warnings []string, marker string) {
	t.Helper()
	for _, m := range append(denials, warnings...) {
		if strings.Contains(m, marker) {
			t.Fatalf("message leaks a secret value: %q", m)
		}
	}
}

// FuzzGuardedSecret: a Secret listed in tokens.guardedSecrets or labelled
// devgate.dev/guard is admitted only with a strong token under its key.
func FuzzGuardedSecret(f *testing.F) {
	f.Add("keptn", "keptn-api-token", "", "", "", strong, false, uint8(0))
	f.Add("dev", "tok", "token", "", "", len15, true, uint8(0))
	f.Add("dev", "tok", "token", "api-key", "api-key", "changeme123", true, uint8(1))
	f.Add("dev", "tok", "yes", "", "token", strong, false, uint8(1))
	f.Add("dev", "tok", "token", "", "", "", false, uint8(2))
	// An empty value, generated on CREATE when the key is guarded.
	f.Add("keptn", "keptn-api-token", "", "", "keptn-api-token", "", false, uint8(0))
	f.Add("dev", "api", "token", "api-key", "api-key", "", true, uint8(0))
	f.Add("keptn", "keptn-api-token", "", "", "keptn-api-token", "", false, uint8(1))
	f.Fuzz(func(t *testing.T, namespace, name, guard, keyAnnotation, key, value string, inStringData bool, op uint8) {
		if strings.Contains(namespace+name+guard+keyAnnotation+key, fuzzMarker) {
			return
		}
		// An empty value stays empty: it is what a token is generated for.
		if value != "" {
			value = fuzzMarker + value
		}
		o := obj{namespace: namespace, name: name}
		if guard != "" {
			o.labels = map[string]string{tokens.LabelGuard: guard}
		}
		if keyAnnotation != "" {
			o.annotations = map[string]string{tokens.AnnotationTokenKey: keyAnnotation}
		}
		if key == "" {
			key = "token"
		}
		if inStringData {
			o.stringData = map[string]string{key: value}
		} else {
			o.data = map[string]string{key: value}
		}
		c := admission{op: []policies.Operation{policies.Create, policies.Update}[op%2], user: alice, obj: &o}
		if c.op == policies.Update {
			c.old = &o
		}
		out := newEngine().Admit(c.input(), testConfig(), nil)
		var denials []string
		for _, d := range out.Denials {
			denials = append(denials, d.Error())
		}
		leaks(t, denials, out.Warnings, fuzzMarker)
		if !out.Allowed() {
			return
		}
		if guard != "" && guard != tokens.GuardToken {
			t.Fatalf("admitted guard label %q", guard)
		}
		guardedKey := ""
		if guard == tokens.GuardToken {
			guardedKey = keyAnnotation
			if guardedKey == "" {
				guardedKey = tokens.DefaultGuardedKey
			}
		}
		for _, g := range testConfig().Tokens.GuardedSecrets {
			if g.Namespace == o.meta().Namespace && g.Name == o.meta().Name {
				guardedKey = g.Key
			}
		}
		if guardedKey == key && key != "" {
			// What is stored: the value, or the one generated for it.
			stored := effective(out.Object.(*corev1.Secret), key)
			if err := tokens.CheckStrength(stored, testConfig().Tokens.MinLength); err != nil {
				t.Fatalf("admitted a weak guarded token under %q: %v", key, err)
			}
			if value != "" && stored != value {
				t.Fatalf("replaced the guarded token under %q", key)
			}
			if value == "" && c.op != policies.Create {
				t.Fatalf("admitted an empty guarded token on %s", c.op)
			}
		}
	})
}

// FuzzServiceAccountToken: token labels are set only by issuers and admins,
// with an external id, a strong value and no other ServiceAccount carrying it.
func FuzzServiceAccountToken(f *testing.F) {
	f.Add("token-issuer", false, strong, "ext-1", "", "", uint8(0), false)
	f.Add("alice", false, strong, "ext-1", "", "", uint8(0), false)
	f.Add("token-issuer", false, len15, "", "", "", uint8(0), false)
	f.Add("token-issuer", false, strong, "ext-1", strong, "ext-1", uint8(1), true)
	f.Add("root", true, strong, "ext-2", strong2, "ext-1", uint8(1), false)
	f.Fuzz(func(t *testing.T, requester string, isAdmin bool, token, externalID, oldToken, oldExternalID string, op uint8, taken bool) {
		if strings.Contains(requester+externalID+oldExternalID, fuzzMarker) {
			return
		}
		// Objects travel as JSON, where invalid UTF-8 becomes U+FFFD: two
		// different invalid values could arrive equal.
		for _, v := range []string{token, externalID, oldToken, oldExternalID} {
			if !utf8.ValidString(v) {
				return
			}
		}
		if token != "" {
			token = fuzzMarker + token
		}
		if oldToken != "" {
			oldToken = fuzzMarker + oldToken
		}
		user := authenticationv1.UserInfo{Username: requester}
		if isAdmin {
			user.Groups = []string{"system:masters"}
		}
		labels := func(tok, ext string) map[string]string {
			l := map[string]string{}
			if tok != "" {
				l[tokens.LabelToken] = tok
			}
			if ext != "" {
				l[tokens.LabelExternalID] = ext
			}
			return l
		}
		o := &obj{name: "sa", labels: labels(token, externalID)}
		c := admission{kind: "sa", op: []policies.Operation{policies.Create, policies.Update}[op%2], user: user, obj: o}
		if c.op == policies.Update {
			c.old = &obj{name: "sa", labels: labels(oldToken, oldExternalID)}
		}
		lookup := fakeLookup{}
		if taken {
			lookup[token] = []string{"other/sa"}
		}
		out := newEngine().Admit(c.input(), testConfig(), lookup)
		var denials []string
		for _, d := range out.Denials {
			denials = append(denials, d.Error())
		}
		leaks(t, denials, out.Warnings, fuzzMarker)
		if !out.Allowed() {
			return
		}
		changed := c.op == policies.Create && (token != "" || externalID != "") ||
			c.op == policies.Update && (token != oldToken || externalID != oldExternalID)
		if !changed {
			return
		}
		if !isAdmin && requester != "token-issuer" {
			t.Fatalf("admitted a token label change by %q", requester)
		}
		if token != "" {
			if externalID == "" {
				t.Fatal("admitted a token without external id")
			}
			if err := tokens.CheckStrength(token, testConfig().Tokens.MinLength); err != nil {
				t.Fatalf("admitted a weak token label: %v", err)
			}
			if taken {
				t.Fatal("admitted a token another ServiceAccount carries")
			}
		}
	})
}

// FuzzOIDCConnector: an admitted connector has every key, an https issuer
// (http only on loopback) without query or fragment, and an absolute
// redirect_uri without fragment.
func FuzzOIDCConnector(f *testing.F) {
	f.Add("https://idp.example.org", "devgate", "s3cret", "https://app.example.org/callback", false)
	f.Add("http://localhost:5556/dex", "devgate", "s3cret", "http://127.0.0.1/cb?x=1", true)
	f.Add("https://user:pw@idp.example.org/?", "", "", "https://app.example.org/#frag", false)
	f.Add("idp.example.org", "devgate", "s3cret", "/callback", false)
	f.Fuzz(func(t *testing.T, issuer, clientID, secret, redirect string, inStringData bool) {
		if strings.Contains(issuer+clientID+redirect, fuzzMarker) {
			return
		}
		data := map[string]string{"issuer": issuer, "client_id": clientID, "client_secret": fuzzMarker + secret, "redirect_uri": redirect}
		o := &obj{name: "oidc", typ: tokens.TypeOIDCConnector}
		if inStringData {
			o.stringData = data
		} else {
			o.data = data
		}
		out := newEngine().Admit(admission{user: alice, obj: o}.input(), testConfig(), nil)
		var denials []string
		for _, d := range out.Denials {
			denials = append(denials, d.Error())
		}
		leaks(t, denials, out.Warnings, fuzzMarker)
		if !out.Allowed() {
			return
		}
		if issuer == "" || clientID == "" || redirect == "" {
			t.Fatalf("admitted a connector with an empty key: %q", data)
		}
		u, err := url.Parse(issuer)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(issuer, "?#") {
			t.Fatalf("admitted issuer %q", issuer)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")) {
			t.Fatalf("admitted issuer %q", issuer)
		}
		r, err := url.Parse(redirect)
		if err != nil || r.Host == "" || (r.Scheme != "https" && r.Scheme != "http") || r.Fragment != "" {
			t.Fatalf("admitted redirect_uri %q", redirect)
		}
	})
}
