package tokens_test

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

const (
	tokenLabel = "metadata.labels[dev.okteto.com/token]"
	idLabel    = "metadata.labels[dev.okteto.com/external-id]"
)

func sa(labels map[string]string) *obj { return &obj{name: "alice", labels: labels} }

func saLabels(token, externalID string) map[string]string {
	l := map[string]string{"app": "x"}
	if token != "" {
		l[tokens.LabelToken] = token
	}
	if externalID != "" {
		l[tokens.LabelExternalID] = externalID
	}
	return l
}

func saCase(name string, op policies.Operation, user authenticationv1.UserInfo, old, obj map[string]string, denials ...string) admission {
	c := admission{name: name, op: op, user: user, kind: "sa", obj: sa(obj), denials: denials}
	if op == policies.Update {
		c.old = sa(old)
	}
	return c
}

func (c admission) saying(detail string) admission {
	c.detail = detail
	return c
}

// serviceAccountCases are the rules of SPEC 5.3. testConfig makes
// "token-issuer" an issuer; "root" is an admin.
var serviceAccountCases = []admission{
	// Who may add, change or remove the labels.
	saCase("create: by an issuer", policies.Create, issuer, nil, saLabels(strong, "alice")),
	saCase("create: by an admin", policies.Create, admin, nil, saLabels(strong, "alice")),
	saCase("create: by another user, each label is a denied add", policies.Create, alice, nil, saLabels(strong, "alice"), tokenLabel+": Forbidden", idLabel+": Forbidden"),
	saCase("create: without the labels, by anyone", policies.Create, alice, nil, saLabels("", "")),
	saCase("add: by another user", policies.Update, alice, saLabels("", ""), saLabels(strong, "alice"), tokenLabel+": Forbidden", idLabel+": Forbidden").
		saying(tokenLabel + ": Forbidden: only token issuers (tokens.issuers) or admins (tokens.adminGroups) may add this label"),
	saCase("add: by an issuer", policies.Update, issuer, saLabels("", ""), saLabels(strong, "alice")),
	saCase("add: by an admin", policies.Update, admin, saLabels("", ""), saLabels(strong, "alice")),
	saCase("change token: by another user", policies.Update, alice, saLabels(strong, "alice"), saLabels(strong2, "alice"), tokenLabel+": Forbidden").
		saying("may change this label"),
	saCase("change token: by an issuer", policies.Update, issuer, saLabels(strong, "alice"), saLabels(strong2, "alice")),
	saCase("change token: by an admin", policies.Update, admin, saLabels(strong, "alice"), saLabels(strong2, "alice")),
	saCase("change external-id: by another user", policies.Update, alice, saLabels(strong, "alice"), saLabels(strong, "bob"), idLabel+": Forbidden"),
	saCase("change external-id: by an issuer", policies.Update, issuer, saLabels(strong, "alice"), saLabels(strong, "bob")),
	saCase("remove both: by another user", policies.Update, alice, saLabels(strong, "alice"), saLabels("", ""), tokenLabel+": Forbidden", idLabel+": Forbidden").
		saying(idLabel + ": Forbidden: only token issuers (tokens.issuers) or admins (tokens.adminGroups) may remove this label"),
	saCase("remove both: by an issuer", policies.Update, issuer, saLabels(strong, "alice"), saLabels("", "")),
	saCase("remove both: by an admin", policies.Update, admin, saLabels(strong, "alice"), saLabels("", "")),
	saCase("remove external-id, keep token: by an issuer", policies.Update, issuer, saLabels(strong, "alice"), saLabels(strong, ""), idLabel+": Required value"),
	saCase("unrelated update by anyone", policies.Update, alice, saLabels(strong, "alice"), with(saLabels(strong, "alice"), "app", "y")),
	// A ServiceAccount that predates devgate keeps taking unrelated updates.
	saCase("unrelated update of a weak legacy token", policies.Update, alice, saLabels(len15, ""), with(saLabels(len15, ""), "app", "y")),
	saCase("change to an empty token value: by another user", policies.Update, alice, saLabels(strong, "alice"), with(saLabels("", "alice"), tokens.LabelToken, ""), tokenLabel+": Forbidden"),

	// What the labels must hold.
	saCase("token without external-id", policies.Create, issuer, nil, saLabels(strong, ""), idLabel+": Required value"),
	saCase("token with an empty external-id", policies.Create, issuer, nil, with(saLabels(strong, ""), tokens.LabelExternalID, ""), idLabel+": Required value"),
	saCase("external-id without token", policies.Create, issuer, nil, saLabels("", "alice")),
	saCase("weak token: 15 characters", policies.Create, issuer, nil, saLabels(len15, "alice"), tokenLabel+": Invalid value"),
	saCase("weak token: placeholder", policies.Create, admin, nil, saLabels(secret("Token12345678901"), "alice"), tokenLabel+": Invalid value"),
	saCase("empty token", policies.Create, issuer, nil, with(saLabels("", "alice"), tokens.LabelToken, ""), tokenLabel+": Invalid value"),
	saCase("weak token and no external-id", policies.Create, issuer, nil, saLabels(distinct7, ""), idLabel+": Required value", tokenLabel+": Invalid value"),

	// Uniqueness, from the Lookup.
	{
		name: "unique: another ServiceAccount has the token", op: policies.Create, kind: "sa", user: issuer,
		obj: sa(saLabels(strong, "alice")), lookup: fakeLookup{strong: {"team-b/bob", "dev/alice", "team-a/carol"}},
		denials: []string{tokenLabel + ": Duplicate value"},
		detail:  `metadata.labels[dev.okteto.com/token]: Duplicate value: "<redacted>": the same token is already on ServiceAccount team-a/carol, team-b/bob; every ServiceAccount needs its own token`,
	},
	{
		name: "unique: only the object itself has the token", op: policies.Update, kind: "sa", user: issuer,
		old: sa(saLabels(strong, "alice")), obj: sa(saLabels(strong, "bob")), lookup: fakeLookup{strong: {"dev/alice"}},
	},
	{
		name: "unique: a token of another ServiceAccount", op: policies.Update, kind: "sa", user: admin,
		old: sa(saLabels(strong, "alice")), obj: sa(saLabels(strong2, "alice")), lookup: fakeLookup{strong: {"dev/alice"}, strong2: {"dev/bob"}},
		denials: []string{tokenLabel + ": Duplicate value"},
		detail:  "already on ServiceAccount dev/bob;",
	},
	{
		// An unprivileged requester is denied before the lookup: the answer
		// must not tell whether some ServiceAccount carries the token.
		name: "unique: not checked for an unprivileged requester", op: policies.Create, kind: "sa", user: alice,
		obj: sa(saLabels(strong, "alice")), lookup: fakeLookup{strong: {"team-b/bob"}},
		denials: []string{tokenLabel + ": Forbidden", idLabel + ": Forbidden"},
	},
	{
		name: "unique: a weak token is not looked up", op: policies.Create, kind: "sa", user: issuer,
		obj: sa(saLabels(len15, "alice")), lookup: fakeLookup{len15: {"team-b/bob"}},
		denials: []string{tokenLabel + ": Invalid value"},
	},
	{
		name: "unique: a nil lookup knows nothing", op: policies.Create, kind: "sa", user: issuer,
		obj: sa(saLabels(strong, "alice")),
	},
	{
		name: "no labels at all", op: policies.Update, kind: "sa", user: alice,
		old: &obj{name: "alice"}, obj: &obj{name: "alice"},
	},
}

func TestServiceAccount(t *testing.T) { runAdmissions(t, serviceAccountCases) }
