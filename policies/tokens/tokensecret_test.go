package tokens_test

import (
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

const (
	rangeMsg   = "must be between 1 and 7776000000 milliseconds (90 days)"
	maxTTLWarn = "data[ttl]: ttl of 7776000000 milliseconds (90 days) is more than 80% of the maximum of 90 days; prefer a shorter-lived token"
)

// aliceToken is a complete token Secret of alice's with a short ttl: no
// mutation, no warning.
var aliceToken = map[string]string{"token": strong, "user-id": "alice", "ttl": "3600000"}

func ptr[T any](v T) *T { return &v }

// tokenSecretCreates are the CREATE rules of SPEC 5.1 and the strength rules of 5.4.
var tokenSecretCreates = []admission{
	// Mutation: defaults.
	{
		name: "defaults: empty user-id and ttl are filled in", user: alice,
		obj:      ptr(tokenSecret(map[string]string{"token": strong})),
		patch:    []string{`add /data/ttl "` + b64("7776000000") + `"`, `add /data/user-id "` + b64("alice") + `"`},
		warnings: []string{maxTTLWarn},
	},
	{
		name: "defaults: empty strings count as missing", user: alice,
		obj:      ptr(tokenSecret(map[string]string{"token": strong, "user-id": "", "ttl": ""})),
		patch:    []string{`replace /data/ttl "` + b64("7776000000") + `"`, `replace /data/user-id "` + b64("alice") + `"`},
		warnings: []string{maxTTLWarn},
	},
	{
		name: "defaults: a key in stringData is set in stringData", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken, stringData: map[string]string{"token": strong, "user-id": ""}},
		patch:    []string{`add /data {"ttl":"` + b64("7776000000") + `"}`, `replace /stringData/user-id "alice"`},
		warnings: []string{maxTTLWarn},
	},
	{
		name: "defaults: nothing to fill in, no patch", user: alice,
		obj: ptr(tokenSecret(aliceToken)),
	},

	// user-id.
	{
		name: "user-id: another user's by a non-admin is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "user-id", "bob"))),
		denials: []string{"data[user-id]: Forbidden"},
		detail:  `only for the requesting user "alice"`,
	},
	{
		name: "user-id: another user's by an admin is allowed", user: admin,
		obj: ptr(tokenSecret(with(aliceToken, "user-id", "bob"))),
	},
	{
		name: "user-id: an admin's own default", user: admin,
		obj:   ptr(tokenSecret(with(aliceToken, "user-id", "<delete>"))),
		patch: []string{`add /data/user-id "` + b64("root") + `"`},
	},

	// ttl boundaries.
	{
		name: "ttl: exactly maxTTL is allowed, with a warning", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "ttl", "7776000000"))),
		warnings: []string{maxTTLWarn},
	},
	{
		name: "ttl: maxTTL+1 is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "7776000001"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  `data[ttl]: Invalid value: "7776000001": ttl ` + rangeMsg,
	},
	{
		name: "ttl: exactly 80% of maxTTL has no warning", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "ttl", "6220800000"))),
	},
	{
		name: "ttl: just above 80% of maxTTL warns", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "ttl", "6220800001"))),
		warnings: []string{"data[ttl]: ttl of 6220800001 milliseconds (1728h0m0.001s) is more than 80% of the maximum of 90 days; prefer a shorter-lived token"},
	},
	{
		name: "ttl: 1 is allowed", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "ttl", "1"))),
	},
	{
		name: "ttl: 0 is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "0"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  `data[ttl]: Invalid value: "0": ttl ` + rangeMsg,
	},
	{
		name: "ttl: -1 is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "-1"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  `data[ttl]: Invalid value: "-1": ttl is not a decimal number of milliseconds (digits 0-9 only: no sign, spaces, decimal point or unit such as "h"); ` + rangeMsg,
	},
	{
		name: "ttl: a unit is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "2h"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  rangeMsg,
	},
	{
		name: "ttl: a plus sign is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "+5"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  rangeMsg,
	},
	{
		name: "ttl: a space is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", " 5"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  rangeMsg,
	},
	{
		name: "ttl: a leading zero is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "03600000"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  "ttl has a leading zero; " + rangeMsg,
	},
	{
		name: "ttl: int64 overflow is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "9223372036854775808"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  "ttl is too large; " + rangeMsg,
	},
	{
		name: "ttl: a huge value is echoed cut short", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "ttl", "1"+string(make([]byte, 100000))))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  `... (100001 bytes)": ttl is not a decimal number`,
	},

	// token presence and strength (SPEC 5.4).
	// An empty token is generated (40 characters of [A-Za-z0-9]); the
	// warning names the path, never the value.
	{
		name: "token: missing is generated", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "token", "<delete>"))),
		patch:    []string{`add /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{
		name: "token: empty is generated", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "token", ""))),
		patch:    []string{`replace /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{
		name: "token: null is generated", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken, data: with(aliceToken, "token", "<delete>"), nullData: []string{"token"}},
		patch:    []string{`replace /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{
		name: "token: empty in stringData is generated in stringData", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken, data: with(aliceToken, "token", "<delete>"), stringData: map[string]string{"token": ""}},
		patch:    []string{`replace /stringData/token "` + generated(1) + `"`},
		warnings: []string{generatedNote("stringData[token]")},
	},
	{
		name: "token: empty in stringData overrides one in data", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken, data: aliceToken, stringData: map[string]string{"token": ""}},
		patch:    []string{`replace /stringData/token "` + generated(1) + `"`},
		warnings: []string{generatedNote("stringData[token]")},
	},
	{
		name: "token: generated with the other defaults", user: alice,
		obj:      ptr(tokenSecret(map[string]string{"description": "ci"})),
		patch:    []string{`add /data/token "` + b64(generated(1)) + `"`, `add /data/ttl "` + b64("7776000000") + `"`, `add /data/user-id "` + b64("alice") + `"`},
		warnings: []string{generatedNote("data[token]"), maxTTLWarn},
	},
	{
		name: "token: generated, another user's is still denied", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "token", "", "user-id", "bob"))),
		denials:  []string{"data[user-id]: Forbidden"},
		patch:    []string{`replace /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{
		name: "token: set is never replaced", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "token", len16))),
	},
	{
		name: "token: a weak one is denied, not replaced", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", "x"))),
		denials: []string{"data[token]: Invalid value"},
	},
	{
		name: "token: 16 characters are enough", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "token", len16))),
	},
	{
		name: "token: 15 characters are too short", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", len15))),
		denials: []string{"data[token]: Invalid value"},
		detail:  `data[token]: Invalid value: "<redacted>": the token is 15 characters long; must be at least 16 characters`,
	},
	{
		name: "token: 8 distinct characters are enough", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "token", distinct8))),
	},
	{
		name: "token: 7 distinct characters are too few", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", distinct7))),
		denials: []string{"data[token]: Invalid value"},
		detail:  "the token has 7 distinct characters; must have at least 8",
	},
	{
		name: "token: 4096 characters are allowed", user: alice,
		obj: ptr(tokenSecret(with(aliceToken, "token", len4096))),
	},
	{
		name: "token: 4097 characters are too long", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", len4097))),
		denials: []string{"data[token]: Invalid value"},
		detail:  "the token is 4097 characters long; must be at most 4096 characters",
	},
	{
		name: "token: a space is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", withSpace))),
		denials: []string{"data[token]: Invalid value"},
		detail:  "printable ASCII characters without spaces (0x21-0x7e)",
	},
	{
		name: "token: a tab is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", withTab))),
		denials: []string{"data[token]: Invalid value"},
	},
	{
		name: "token: DEL is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", withDEL))),
		denials: []string{"data[token]: Invalid value"},
	},
	{
		name: "token: non-ASCII is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", nonASCII))),
		denials: []string{"data[token]: Invalid value"},
	},
	{
		name: "token: non-UTF-8 is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "token", nonUTF8))),
		denials: []string{"data[token]: Invalid value"},
	},

	// kind.
	{name: "kind: session", user: alice, obj: ptr(tokenSecret(with(aliceToken, "kind", "session")))},
	{name: "kind: derived", user: alice, obj: ptr(tokenSecret(with(aliceToken, "kind", "derived")))},
	{name: "kind: empty means derived", user: alice, obj: ptr(tokenSecret(with(aliceToken, "kind", "")))},
	{
		name: "kind: anything else is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "kind", "Session"))),
		denials: []string{"data[kind]: Unsupported value"},
		detail:  `supported values: "session", "derived" (empty means derived)`,
	},

	// enabled.
	{name: "enabled: true", user: alice, obj: ptr(tokenSecret(with(aliceToken, "enabled", "true")))},
	{name: "enabled: false", user: alice, obj: ptr(tokenSecret(with(aliceToken, "enabled", "false")))},
	{name: "enabled: empty is unset", user: alice, obj: ptr(tokenSecret(with(aliceToken, "enabled", "")))},
	{
		name: "enabled: True is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "enabled", "True"))),
		denials: []string{"data[enabled]: Unsupported value"},
		detail:  `supported values: "true", "false"`,
	},
	{
		name: "enabled: yes is denied", user: alice,
		obj:     ptr(tokenSecret(with(aliceToken, "enabled", "yes"))),
		denials: []string{"data[enabled]: Unsupported value"},
	},

	// Other keys.
	{name: "description: free text", user: alice, obj: ptr(tokenSecret(with(aliceToken, "description", "CI token for the e2e suite")))},
	{
		name: "unknown key: a warning, not a denial", user: alice,
		obj:      ptr(tokenSecret(with(aliceToken, "user_id", "bob", "TTL", "5"))),
		warnings: []string{"data[TTL]: unknown key of a token Secret; the keys are token, user-id, kind, description, ttl, enabled", "data[user_id]: unknown key of a token Secret; the keys are token, user-id, kind, description, ttl, enabled"},
	},

	// stringData overrides data.
	{
		name: "stringData: overrides data when read", user: alice,
		obj: &obj{name: "tok", typ: tokens.TypeToken, data: with(aliceToken, "ttl", "2h"), stringData: map[string]string{"ttl": "3600000"}},
	},
	{
		name: "stringData: a denial names stringData", user: alice,
		obj:     &obj{name: "tok", typ: tokens.TypeToken, data: aliceToken, stringData: map[string]string{"ttl": "2h", "token": len15}},
		denials: []string{"stringData[token]: Invalid value", "stringData[ttl]: Invalid value"},
	},

	// Several rules at once: every denial is reported.
	{
		name: "all at once", user: alice,
		obj:     ptr(tokenSecret(map[string]string{"token": "changeme", "user-id": "bob", "kind": "x", "ttl": "0", "enabled": "1"})),
		denials: []string{"data[token]: Invalid value", "data[user-id]: Forbidden", "data[kind]: Unsupported value", "data[ttl]: Invalid value", "data[enabled]: Unsupported value"},
	},

	// Objects the policy does not own.
	{
		name: "not owned: an Opaque Secret is untouched", user: alice,
		obj: &obj{name: "plain", typ: "Opaque", data: map[string]string{"ttl": "2h", "token": "x"}},
	},
	{
		name: "not owned: an unmanaged namespace is untouched", user: alice,
		obj: &obj{namespace: "kube-system", name: "tok", typ: tokens.TypeToken, data: map[string]string{"token": "x"}},
	},
	{
		name: "no data at all", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken},
		patch:    []string{`add /data {"token":"` + b64(generated(1)) + `","ttl":"` + b64("7776000000") + `","user-id":"` + b64("alice") + `"}`},
		warnings: []string{generatedNote("data[token]"), maxTTLWarn},
	},
	{
		name: "not owned: an empty token of an Opaque Secret is not generated", user: alice,
		obj: &obj{name: "plain", typ: "Opaque", data: map[string]string{"token": ""}},
	},
}

// placeholderCreates: each well-known placeholder, padded with digits to pass
// every other rule, is denied in any case.
func placeholderCreates() []admission {
	values := []string{
		"changeme12345678", "password12345678", "token12345678901", "secret1234567890",
		"example123456789", "test123456789012", "admin12345678901",
		"CHANGEME12345678", "PassWord12345678", "Token12345678901", "SECRET1234567890",
		"eXaMpLe123456789", "TEST123456789012", "Admin12345678901",
	}
	var cases []admission
	for _, v := range values {
		cases = append(cases, admission{
			name: "placeholder: " + v, user: alice,
			obj:     ptr(tokenSecret(with(aliceToken, "token", secret(v)))),
			denials: []string{"data[token]: Invalid value"},
			detail:  "the token is a well-known placeholder (changeme, password, token, secret, example, test, admin, in any case, optionally followed by digits); use a random value",
		})
	}
	// Not placeholders: the word is only part of the value, or not followed by digits only.
	for _, v := range []string{"mytoken123456789", "password1234567x", "testtest12345678"} {
		cases = append(cases, admission{name: "not a placeholder: " + v, user: alice, obj: ptr(tokenSecret(with(aliceToken, "token", secret(v))))})
	}
	return cases
}

// tokenSecretUpdates are the UPDATE and DELETE rules of SPEC 5.1. The stored
// token is alice's, with ttl 3600000.
var tokenSecretUpdates = []admission{
	// Ownership.
	{name: "update: by the owner", op: policies.Update, user: alice, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "description", "x")))},
	{
		name: "update: by another user is denied", op: policies.Update, user: bob,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "description", "x"))),
		denials: []string{"data[user-id]: Forbidden"},
		detail:  "only the token's owner (user-id) or an admin (tokens.adminGroups) may update this token Secret",
	},
	{name: "update: by an admin", op: policies.Update, user: admin, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "description", "x")))},
	{
		name: "update: a token without user-id belongs to no one", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "user-id", "<delete>"))), obj: ptr(tokenSecret(with(aliceToken, "user-id", "<delete>", "enabled", "false"))),
		denials: []string{"data[user-id]: Forbidden"},
	},
	{name: "update: the owner disables the token", op: policies.Update, user: alice, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "enabled", "false")))},
	{
		name: "update: enabled must be true or false", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "enabled", "no"))),
		denials: []string{"data[enabled]: Unsupported value"},
	},

	// A token is generated on CREATE only: emptying it is a change of an
	// immutable field.
	{
		name: "update: an emptied token is not generated", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "token", ""))),
		denials: []string{"data[token]: Invalid value"},
	},
	{
		name: "update: a stored token without a value is not generated", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "token", "<delete>"))), obj: ptr(tokenSecret(with(aliceToken, "token", "<delete>", "description", "x"))),
	},

	// Immutable fields.
	{
		name: "immutable: token", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "token", strong2))),
		denials: []string{"data[token]: Invalid value"},
		detail:  `data[token]: Invalid value: "<redacted>": token is immutable: create a new token Secret instead`,
	},
	{
		name: "immutable: user-id, even by the owner giving it away", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "user-id", "bob"))),
		denials: []string{"data[user-id]: Invalid value"},
		detail:  `data[user-id]: Invalid value: "bob": user-id is immutable`,
	},
	{
		name: "immutable: user-id, taking a token over is denied as not the owner", op: policies.Update, user: bob,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "user-id", "bob"))),
		denials: []string{"data[user-id]: Forbidden"},
	},
	{
		name: "immutable: user-id, changed by an admin", op: policies.Update, user: admin,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "user-id", "bob"))),
		denials: []string{"data[user-id]: Invalid value"},
		detail:  "user-id is immutable",
	},
	{
		// Whether bob's guess equals the stored token must not show: the
		// answer is the same for a right and a wrong guess.
		name: "non-owner guessing the token hears only the ownership denial", op: policies.Update, user: bob,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "token", "Gu3ss!ng-Th3-T0ken"))),
		denials: []string{"data[user-id]: Forbidden"},
	},
	{
		name: "immutable: kind", op: policies.Update, user: admin,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "kind", "session"))),
		denials: []string{"data[kind]: Invalid value"},
		detail:  "kind is immutable",
	},

	// ttl: only admins extend it.
	{
		name: "ttl: increase by the owner is denied", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", "3600001"))),
		denials: []string{"data[ttl]: Forbidden"},
		detail:  "only admins (tokens.adminGroups) may increase ttl beyond the stored 3600000 milliseconds; any user may reduce it",
	},
	{name: "ttl: increase by an admin", op: policies.Update, user: admin, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", "7200000")))},
	{name: "ttl: decrease by the owner", op: policies.Update, user: alice, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", "3599999")))},
	{name: "ttl: unchanged", op: policies.Update, user: alice, old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(aliceToken))},
	{
		name: "ttl: emptying it asks for maxTTL, an increase", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", ""))),
		denials: []string{"data[ttl]: Forbidden"},
	},
	{
		name: "ttl: out of range on update", op: policies.Update, user: admin,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", "7776000001"))),
		denials: []string{"data[ttl]: Invalid value"},
		detail:  rangeMsg,
	},
	{
		name: "ttl: an unreadable stored ttl counts as 0 for the owner", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "ttl", "2h"))), obj: ptr(tokenSecret(aliceToken)),
		denials: []string{"data[ttl]: Forbidden"},
		detail:  "beyond the stored value, which is not a valid ttl",
	},
	{name: "ttl: an unreadable stored ttl is fixed by an admin", op: policies.Update, user: admin, old: ptr(tokenSecret(with(aliceToken, "ttl", "2h"))), obj: ptr(tokenSecret(aliceToken))},
	{
		name: "ttl: an admin's extension to the maximum warns", op: policies.Update, user: admin,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "ttl", "7776000000"))),
		warnings: []string{maxTTLWarn},
	},
	{
		name: "update: a weak token that predates devgate can be disabled, with a warning", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "token", len15))), obj: ptr(tokenSecret(with(aliceToken, "token", len15, "enabled", "false"))),
		warnings: []string{"data[token]: the token is 15 characters long; must be at least 16 characters; replace it with a new token Secret"},
	},
	{
		name: "update: no mutation on update", op: policies.Update, user: alice,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "user-id", ""))),
		denials: []string{"data[user-id]: Invalid value"},
	},
	{
		name: "update: a token Secret turned into another type, by another user", op: policies.Update, user: bob,
		old: ptr(tokenSecret(aliceToken)), obj: &obj{name: "tok", typ: "Opaque", data: aliceToken},
		denials: []string{"data[user-id]: Forbidden"},
	},
	{name: "update: an Opaque Secret is not owned", op: policies.Update, user: bob, old: &obj{name: "plain", typ: "Opaque", data: aliceToken}, obj: &obj{name: "plain", typ: "Opaque", data: with(aliceToken, "ttl", "x")}},

	// DELETE uses the stored object.
	{name: "delete: by the owner", op: policies.Delete, user: alice, old: ptr(tokenSecret(aliceToken))},
	{
		name: "delete: by another user is denied", op: policies.Delete, user: bob, old: ptr(tokenSecret(aliceToken)),
		denials: []string{"data[user-id]: Forbidden"},
		detail:  "may delete this token Secret",
	},
	{name: "delete: by an admin", op: policies.Delete, user: admin, old: ptr(tokenSecret(aliceToken))},
	{name: "delete: an Opaque Secret is not owned", op: policies.Delete, user: bob, old: &obj{name: "plain", typ: "Opaque", data: aliceToken}},
	{name: "delete: a weak token can always be deleted by its owner", op: policies.Delete, user: alice, old: ptr(tokenSecret(with(aliceToken, "token", "x", "ttl", "garbage")))},
	// The cluster's own deleters: a namespace holding token Secrets must
	// still be deletable, and an owner's garbage must still be collected.
	{name: "delete: by the namespace controller", op: policies.Delete, user: namespaceController, old: ptr(tokenSecret(aliceToken))},
	{name: "delete: by the garbage collector", op: policies.Delete, user: garbageCollector, old: ptr(tokenSecret(aliceToken))},
	{
		name: "delete: another kube-system ServiceAccount is not a system deleter", op: policies.Delete,
		user: userInfo("system:serviceaccount:kube-system:replicaset-controller"), old: ptr(tokenSecret(aliceToken)),
		denials: []string{"data[user-id]: Forbidden"},
	},
	{
		name: "update: a system deleter may only delete", op: policies.Update, user: namespaceController,
		old: ptr(tokenSecret(aliceToken)), obj: ptr(tokenSecret(with(aliceToken, "description", "x"))),
		denials: []string{"data[user-id]: Forbidden"},
	},

	// enabled: an admin's disable cannot be undone by the owner.
	{
		name: "enabled: the owner cannot re-enable a disabled token", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "enabled", "false"))), obj: ptr(tokenSecret(with(aliceToken, "enabled", "true"))),
		denials: []string{"data[enabled]: Forbidden"},
		detail:  "only admins (tokens.adminGroups) may enable a disabled token; any user may disable one",
	},
	{
		name: "enabled: emptying enabled re-enables too", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "enabled", "false"))), obj: ptr(tokenSecret(aliceToken)),
		denials: []string{"data[enabled]: Forbidden"},
	},
	{name: "enabled: an admin re-enables", op: policies.Update, user: admin, old: ptr(tokenSecret(with(aliceToken, "enabled", "false"))), obj: ptr(tokenSecret(with(aliceToken, "enabled", "true")))},
	{name: "enabled: a disabled token stays disabled while its owner edits it", op: policies.Update, user: alice,
		old: ptr(tokenSecret(with(aliceToken, "enabled", "false"))), obj: ptr(tokenSecret(with(aliceToken, "enabled", "false", "description", "x")))},
}

var (
	namespaceController = userInfo("system:serviceaccount:kube-system:namespace-controller")
	garbageCollector    = userInfo("system:serviceaccount:kube-system:generic-garbage-collector")
)

func TestTokenSecretCreate(t *testing.T) {
	runAdmissions(t, tokenSecretCreates)
	runAdmissions(t, placeholderCreates())
}

func TestTokenSecretUpdateDelete(t *testing.T) { runAdmissions(t, tokenSecretUpdates) }

// Mutation must be idempotent: a second pass changes nothing, and in
// particular does not generate another token.
func TestTokenSecretMutateIdempotent(t *testing.T) {
	e := newEngine()
	for _, o := range []*obj{
		ptr(tokenSecret(map[string]string{"token": strong})),
		ptr(tokenSecret(nil)),
		ptr(tokenSecret(map[string]string{"token": ""})),
		{name: "tok", typ: tokens.TypeToken, stringData: map[string]string{"token": ""}},
		keptn(map[string]string{"keptn-api-token": ""}),
		labelled(map[string]string{tokens.AnnotationTokenKey: "api-key"}, map[string]string{"api-key": ""}),
	} {
		in := admission{user: alice, obj: o}.input()
		first := e.Mutate(in, testConfig(), nil)
		if len(first.Patch) == 0 {
			t.Fatalf("%s: first pass: no patch", in.Object)
		}
		in.Object = mustJSON(first.Object)
		if second := e.Admit(in, testConfig(), nil); len(second.Patch) != 0 || len(second.Denials) != 0 ||
			slices.ContainsFunc(second.Warnings, func(w string) bool { return strings.HasSuffix(w, tokens.GeneratedNote) }) {
			t.Fatalf("%s: second pass: patch %v, denials %v, warnings %q", in.Object, second.Patch, second.Denials, second.Warnings)
		}
	}
}

func TestHandles(t *testing.T) {
	cases := []struct {
		p    policies.Policy
		name string
		want []policies.Rule
	}{
		{tokens.NewTokenSecretPolicy(), "token-secret", []policies.Rule{
			{GroupVersionKind: secretKind, Resource: "secrets", Operations: []policies.Operation{policies.Create}, Mutating: true},
			{GroupVersionKind: secretKind, Resource: "secrets", Operations: []policies.Operation{policies.Create, policies.Update, policies.Delete}, Validating: true},
		}},
		{tokens.NewGuardedSecretPolicy(), "guarded-secret", []policies.Rule{
			{GroupVersionKind: secretKind, Resource: "secrets", Operations: []policies.Operation{policies.Create}, Mutating: true},
			{GroupVersionKind: secretKind, Resource: "secrets", Operations: []policies.Operation{policies.Create, policies.Update}, Validating: true},
		}},
		{tokens.NewServiceAccountPolicy(), "serviceaccount-token", []policies.Rule{
			{GroupVersionKind: saKind, Resource: "serviceaccounts", Operations: []policies.Operation{policies.Create, policies.Update}, Validating: true},
		}},
		{tokens.NewOIDCConnectorPolicy(), "oidc-connector", []policies.Rule{
			{GroupVersionKind: secretKind, Resource: "secrets", Operations: []policies.Operation{policies.Create, policies.Update}, Validating: true},
		}},
	}
	for _, c := range cases {
		if c.p.Name() != c.name {
			t.Errorf("Name() = %q, want %q", c.p.Name(), c.name)
		}
		got := c.p.Handles()
		if len(got) != len(c.want) {
			t.Errorf("%s: Handles() = %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.GroupVersionKind != w.GroupVersionKind || g.Resource != w.Resource || g.Mutating != w.Mutating ||
				g.Validating != w.Validating || len(g.Operations) != len(w.Operations) {
				t.Errorf("%s: rule %d = %+v, want %+v", c.name, i, g, w)
				continue
			}
			for j := range g.Operations {
				if g.Operations[j] != w.Operations[j] {
					t.Errorf("%s: rule %d = %+v, want %+v", c.name, i, g, w)
				}
			}
		}
	}
}

func userInfo(name string) authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: name, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}
}
