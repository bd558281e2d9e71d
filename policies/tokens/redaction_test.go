package tokens_test

import (
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

// TestNoSecretInMessages runs every case of every table and asserts that no
// denial or warning holds a token value or a client_secret. (check asserts it
// case by case too; this test also proves the tables do produce messages to
// look at, and covers token values placed where other values are echoed.)
func TestNoSecretInMessages(t *testing.T) {
	tables := [][]admission{tokenSecretCreates, placeholderCreates(), tokenSecretUpdates, guardedCases, serviceAccountCases, oidcCases}
	// A weak token equal to the client_secret, a token that is also an
	// unknown key's value, and both in stringData.
	extra := []admission{
		{name: "token everywhere", user: alice, obj: ptr(tokenSecret(map[string]string{"token": len15, "note": len15, "ttl": "0"}))},
		{name: "oidc secret in stringData", user: alice, obj: &obj{name: "o", typ: tokens.TypeOIDCConnector, stringData: with(connector, "issuer", "http://x/")}},
		{name: "immutable token in stringData", op: policies.Update, user: bob, old: ptr(tokenSecret(aliceToken)), obj: &obj{name: "tok", typ: tokens.TypeToken, data: aliceToken, stringData: map[string]string{"token": strong2}}},
	}
	tables = append(tables, extra)
	denials, warnings := 0, 0
	for _, table := range tables {
		for _, c := range table {
			out := newEngine().Admit(c.input(), testConfig(), fakeLookup{strong: {"x/y"}, strong2: {"x/z"}})
			var msgs []string
			for _, d := range out.Denials {
				msgs = append(msgs, d.Error())
				denials++
			}
			msgs = append(msgs, out.Warnings...)
			warnings += len(out.Warnings)
			for _, m := range msgs {
				for s := range secretsUsed {
					if strings.Contains(m, s) {
						t.Errorf("%s: message leaks a secret value: %q", c.name, m)
					}
				}
			}
		}
	}
	if denials < 100 || warnings < 5 {
		t.Fatalf("only %d denials and %d warnings looked at", denials, warnings)
	}
}

// effective reads key as the API server stores it: stringData overrides data.
func effective(s *corev1.Secret, key string) string {
	if v, ok := s.StringData[key]; ok {
		return v
	}
	return string(s.Data[key])
}

// FuzzTokenSecret drives the token Secret rules through the engine with any
// values. It checks that nothing panics, that what is admitted obeys SPEC 5.1,
// and that no message holds a token value: with mark set, the tokens carry a
// marker that nothing else may contain, so finding it in a message is a leak.
func FuzzTokenSecret(f *testing.F) {
	f.Add(uint8(0), strong, "", "", "", "", "alice", false, "", "", "", false, true)
	f.Add(uint8(0), len15, "bob", "session", "2h", "yes", "alice", false, "", "", "", true, true)
	f.Add(uint8(1), strong, "alice", "", "7200000", "false", "alice", false, strong, "alice", "3600000", false, false)
	f.Add(uint8(1), strong2, "bob", "derived", "", "", "bob", false, strong, "alice", "2h", false, true)
	f.Add(uint8(1), strong, "alice", "", "9223372036854775808", "true", "root", true, strong, "alice", "", true, false)
	f.Add(uint8(2), "", "", "", "", "", "bob", false, "\xff\xfe", "alice", "0", false, true)
	// An empty token (mark off) is generated on CREATE, in data or
	// stringData, and emptying one on UPDATE is denied.
	f.Add(uint8(0), "", "", "", "", "", "alice", false, "", "", "", false, false)
	f.Add(uint8(0), "", "", "", "3600000", "", "alice", false, "", "", "", true, false)
	f.Add(uint8(1), "", "alice", "", "", "", "alice", false, strong, "alice", "", false, false)
	f.Fuzz(func(t *testing.T, op uint8, token, userID, kind, ttl, enabled, requester string, isAdmin bool,
		oldToken, oldUserID, oldTTL string, inStringData, mark bool) {
		const marker, oldMarker = "Zq9#", "Yw8%"
		if mark {
			for _, v := range []string{userID, kind, ttl, enabled, requester, oldUserID, oldTTL} {
				if strings.Contains(v, marker) || strings.Contains(v, oldMarker) {
					return
				}
			}
			token, oldToken = marker+token, oldMarker+oldToken
		}
		user := authenticationv1.UserInfo{Username: requester}
		if isAdmin {
			user.Groups = []string{"system:masters"}
		}
		newData := map[string]string{"token": token, "user-id": userID, "kind": kind, "ttl": ttl, "enabled": enabled}
		o := tokenSecret(newData)
		if inStringData {
			o.data = with(newData, "token", "<delete>", "ttl", "<delete>")
			o.stringData = map[string]string{"token": token, "ttl": ttl}
		}
		old := tokenSecret(map[string]string{"token": oldToken, "user-id": oldUserID, "kind": kind, "ttl": oldTTL})
		c := admission{op: []policies.Operation{policies.Create, policies.Update, policies.Delete}[op%3], user: user, obj: &o, old: &old}
		if c.op == policies.Create {
			c.old = nil
		}
		cfg := testConfig()
		out := newEngine().Admit(c.input(), cfg, nil)

		if mark {
			var msgs []string
			for _, d := range out.Denials {
				msgs = append(msgs, d.Error())
			}
			for _, m := range append(msgs, out.Warnings...) {
				if strings.Contains(m, marker) || strings.Contains(m, oldMarker) {
					t.Fatalf("message leaks a token: %q", m)
				}
			}
		}
		if !out.Allowed() {
			return
		}
		// What is admitted obeys the rules.
		isOwner := requester != "" && requester == oldUserID
		switch c.op {
		case policies.Create:
			s := out.Object.(*corev1.Secret)
			if got := effective(s, tokens.KeyUserID); got == "" || (got != requester && !isAdmin) {
				t.Fatalf("admitted user-id %q for requester %q", got, requester)
			}
			if _, err := tokens.ValidateTTL(effective(s, tokens.KeyTTL), cfg.MaxTTLMillis()); err != nil {
				t.Fatalf("admitted ttl %q: %v", effective(s, tokens.KeyTTL), err)
			}
			if err := tokens.CheckStrength(effective(s, tokens.KeyToken), cfg.Tokens.MinLength); err != nil {
				t.Fatalf("admitted a weak token: %v", err)
			}
			if !slices.Contains([]string{"", "session", "derived"}, kind) || !slices.Contains([]string{"", "true", "false"}, enabled) {
				t.Fatalf("admitted kind %q, enabled %q", kind, enabled)
			}
		case policies.Update:
			if !isAdmin && !isOwner {
				t.Fatalf("admitted an update by %q of %q's token", requester, oldUserID)
			}
			if token != oldToken || userID != oldUserID {
				t.Fatal("admitted a change of an immutable field")
			}
			newTTL, err := tokens.ValidateTTL(ttl, cfg.MaxTTLMillis())
			if ttl == "" {
				newTTL, err = cfg.MaxTTLMillis(), nil
			}
			if err != nil {
				t.Fatalf("admitted ttl %q: %v", ttl, err)
			}
			if storedTTL, err := tokens.ParseTTL(oldTTL); !isAdmin && oldTTL != "" && (err != nil || newTTL > storedTTL) {
				t.Fatalf("admitted a ttl increase from %q to %q by a non-admin", oldTTL, ttl)
			}
		case policies.Delete:
			if !isAdmin && !isOwner {
				t.Fatalf("admitted a delete by %q of %q's token", requester, oldUserID)
			}
		}
	})
}

// TestGeneratedTokenNotInMessages: a generated token (from crypto/rand, as in
// production) is in the patch, which is how the API server stores it, and in
// no denial or warning, also when the same object is denied for another
// reason.
func TestGeneratedTokenNotInMessages(t *testing.T) {
	cases := []struct {
		c        admission
		key      string
		inString bool
	}{
		{admission{user: alice, obj: ptr(tokenSecret(nil))}, "token", false},
		{admission{user: alice, obj: ptr(tokenSecret(map[string]string{"token": "", "user-id": "bob", "ttl": "0", "kind": "x"}))}, "token", false},
		{admission{user: alice, obj: &obj{name: "tok", typ: tokens.TypeToken, stringData: map[string]string{"token": "", "enabled": "no"}}}, "token", true},
		{admission{user: alice, obj: keptn(map[string]string{"keptn-api-token": "", "other": ""})}, "keptn-api-token", false},
		{admission{user: alice, obj: &obj{namespace: "keptn", name: "keptn-api-token", labels: map[string]string{tokens.LabelGuard: tokens.GuardToken},
			data: map[string]string{"keptn-api-token": ""}}}, "keptn-api-token", false},
	}
	for _, tc := range cases {
		out := newEngine().Admit(tc.c.input(), testConfig(), nil)
		s := out.Object.(*corev1.Secret)
		v := effective(s, tc.key)
		if tc.inString {
			v = s.StringData[tc.key]
		}
		if err := tokens.CheckStrength(v, 16); err != nil || len(v) != tokens.GeneratedTokenLength {
			t.Fatalf("%s: no token generated under %q (%d characters): %v", tc.c.obj.secretJSON(), tc.key, len(v), err)
		}
		patch := string(mustJSON(out.Patch))
		if !strings.Contains(patch, v) && !strings.Contains(patch, b64(v)) {
			t.Fatalf("the patch does not hold the generated token: %s", patch)
		}
		msgs := slices.Clone(out.Warnings)
		for _, d := range out.Denials {
			msgs = append(msgs, d.Error())
		}
		for _, m := range msgs {
			if strings.Contains(m, v) || strings.Contains(m, b64(v)) {
				t.Fatalf("message leaks the generated token: %q", m)
			}
		}
		if !slices.Contains(out.Warnings, "data["+tc.key+"]"+tokens.GeneratedNote) && !slices.Contains(out.Warnings, "stringData["+tc.key+"]"+tokens.GeneratedNote) {
			t.Fatalf("no note about the generated token: %q", out.Warnings)
		}
	}
}
