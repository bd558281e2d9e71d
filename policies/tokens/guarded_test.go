package tokens_test

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/tokens"
)

func keptn(data map[string]string) *obj {
	return &obj{namespace: "keptn", name: "keptn-api-token", typ: "Opaque", data: data}
}

func labelled(annotations, data map[string]string) *obj {
	return &obj{name: "api", typ: "Opaque", labels: map[string]string{tokens.LabelGuard: tokens.GuardToken}, annotations: annotations, data: data}
}

// guardedCases are the rules of SPEC 5.2. testConfig lists keptn/keptn-api-token
// with key keptn-api-token, as the chart's default values do.
var guardedCases = []admission{
	// Listed in tokens.guardedSecrets.
	{name: "listed: strong", user: alice, obj: keptn(map[string]string{"keptn-api-token": strong})},
	{
		name: "listed: weak", user: alice, obj: keptn(map[string]string{"keptn-api-token": len15}),
		denials: []string{"data[keptn-api-token]: Invalid value"},
		detail:  `data[keptn-api-token]: Invalid value: "<redacted>": listed in tokens.guardedSecrets: the token is 15 characters long; must be at least 16 characters`,
	},
	{
		name: "listed: key missing", user: alice, obj: keptn(map[string]string{"token": strong}),
		denials: []string{"data[keptn-api-token]: Required value"},
		detail:  `listed in tokens.guardedSecrets: must hold a strong token of at least 16 printable ASCII characters under key "keptn-api-token"`,
	},
	{
		name: "listed: no data at all", user: alice, obj: keptn(nil),
		denials: []string{"data[keptn-api-token]: Required value"},
	},
	{
		name: "listed: a placeholder in stringData", user: alice,
		obj:     &obj{namespace: "keptn", name: "keptn-api-token", stringData: map[string]string{"keptn-api-token": "changeme12345678"}},
		denials: []string{"stringData[keptn-api-token]: Invalid value"},
	},
	{
		name: "listed: weak on update", op: policies.Update, user: alice,
		old: keptn(map[string]string{"keptn-api-token": strong}), obj: keptn(map[string]string{"keptn-api-token": distinct7}),
		denials: []string{"data[keptn-api-token]: Invalid value"},
	},
	{name: "listed: same name in another namespace is not guarded", user: alice, obj: &obj{namespace: ns, name: "keptn-api-token", data: map[string]string{"keptn-api-token": "x"}}},
	{name: "listed: another name in the namespace is not guarded", user: alice, obj: &obj{namespace: "keptn", name: "other", data: map[string]string{"keptn-api-token": "x"}}},
	// CREATE with the key present and empty generates it.
	{
		name: "listed: key present and empty is generated", user: alice, obj: keptn(map[string]string{"keptn-api-token": ""}),
		patch:    []string{`replace /data/keptn-api-token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[keptn-api-token]")},
	},
	{
		name: "listed: key present and null is generated", user: alice, obj: &obj{namespace: "keptn", name: "keptn-api-token", nullData: []string{"keptn-api-token"}},
		patch:    []string{`replace /data/keptn-api-token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[keptn-api-token]")},
	},
	{
		name: "listed: key empty in stringData is generated in stringData", user: alice,
		obj:      &obj{namespace: "keptn", name: "keptn-api-token", stringData: map[string]string{"keptn-api-token": ""}},
		patch:    []string{`replace /stringData/keptn-api-token "` + generated(1) + `"`},
		warnings: []string{generatedNote("stringData[keptn-api-token]")},
	},
	{
		name: "listed: other keys stay as they are", user: alice, obj: keptn(map[string]string{"keptn-api-token": "", "endpoint": ""}),
		patch:    []string{`replace /data/keptn-api-token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[keptn-api-token]")},
	},
	{
		name: "listed: empty on update is denied, not generated", op: policies.Update, user: alice,
		old: keptn(map[string]string{"keptn-api-token": strong}), obj: keptn(map[string]string{"keptn-api-token": ""}),
		denials: []string{"data[keptn-api-token]: Required value"},
	},
	{
		name: "listed: a set value is never replaced", user: alice, obj: keptn(map[string]string{"keptn-api-token": len15}),
		denials: []string{"data[keptn-api-token]: Invalid value"},
	},
	{name: "listed: delete is not checked", op: policies.Delete, user: alice, old: keptn(map[string]string{"keptn-api-token": "x"})},

	// Labelled devgate.dev/guard=token.
	{name: "label: default key token, strong", user: alice, obj: labelled(nil, map[string]string{"token": strong})},
	{
		name: "label: default key token, missing", user: alice, obj: labelled(nil, map[string]string{"api-key": strong}),
		denials: []string{"data[token]: Required value"},
		detail:  `labelled devgate.dev/guard=token: must hold a strong token`,
	},
	{
		name: "label: default key token, weak", user: alice, obj: labelled(nil, map[string]string{"token": withSpace}),
		denials: []string{"data[token]: Invalid value"},
	},
	{name: "label+annotation: key from the annotation, strong", user: alice, obj: labelled(map[string]string{tokens.AnnotationTokenKey: "api-key"}, map[string]string{"api-key": strong, "token": "x"})},
	{
		name: "label+annotation: key from the annotation, weak", user: alice,
		obj:     labelled(map[string]string{tokens.AnnotationTokenKey: "api-key"}, map[string]string{"api-key": "admin12345678901", "token": strong}),
		denials: []string{"data[api-key]: Invalid value"},
	},
	{name: "label+annotation: an empty annotation means token", user: alice, obj: labelled(map[string]string{tokens.AnnotationTokenKey: ""}, map[string]string{"token": strong})},
	{
		name: "label: another value is denied", user: alice,
		obj:     &obj{name: "api", labels: map[string]string{tokens.LabelGuard: "Token"}, data: map[string]string{"token": strong}},
		denials: []string{"metadata.labels[devgate.dev/guard]: Unsupported value"},
		detail:  `supported values: "token"`,
	},
	{
		name: "label: default key token, empty, is generated", user: alice, obj: labelled(nil, map[string]string{"token": ""}),
		patch:    []string{`replace /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{
		name: "label+annotation: the annotation's key, empty, is generated", user: alice,
		obj:      labelled(map[string]string{tokens.AnnotationTokenKey: "api-key"}, map[string]string{"api-key": "", "token": ""}),
		patch:    []string{`replace /data/api-key "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[api-key]")},
	},
	{
		name: "label+annotation: the annotation's key missing is denied, not generated", user: alice,
		obj:     labelled(map[string]string{tokens.AnnotationTokenKey: "api-key"}, map[string]string{"token": ""}),
		denials: []string{"data[api-key]: Required value"},
	},
	{
		name: "label+annotation: an invalid key is not generated", user: alice,
		obj:     labelled(map[string]string{tokens.AnnotationTokenKey: "a/b"}, map[string]string{"a/b": ""}),
		denials: []string{"data[a/b]: Required value"},
	},
	{
		name: "label: another value generates nothing", user: alice,
		obj:     &obj{name: "api", labels: map[string]string{tokens.LabelGuard: "Token"}, data: map[string]string{"token": ""}},
		denials: []string{"metadata.labels[devgate.dev/guard]: Unsupported value"},
	},
	{
		name: "listed and labelled, both empty: both generated", user: alice,
		obj: &obj{namespace: "keptn", name: "keptn-api-token", labels: map[string]string{tokens.LabelGuard: tokens.GuardToken},
			data: map[string]string{"keptn-api-token": "", "token": ""}},
		patch:    []string{`replace /data/keptn-api-token "` + b64(generated(1)) + `"`, `replace /data/token "` + b64(generated(2)) + `"`},
		warnings: []string{generatedNote("data[keptn-api-token]"), generatedNote("data[token]")},
	},
	{
		name: "a guarded token Secret's empty token is generated once", user: alice,
		obj:      &obj{name: "tok", typ: tokens.TypeToken, labels: map[string]string{tokens.LabelGuard: tokens.GuardToken}, data: with(aliceToken, "token", "")},
		patch:    []string{`replace /data/token "` + b64(generated(1)) + `"`},
		warnings: []string{generatedNote("data[token]")},
	},
	{name: "an unguarded Secret with an empty value is untouched", user: alice, obj: &obj{name: "plain", data: map[string]string{"token": "", "keptn-api-token": ""}}},
	{name: "annotation alone guards nothing", user: alice, obj: &obj{name: "api", annotations: map[string]string{tokens.AnnotationTokenKey: "api-key"}, data: map[string]string{"api-key": "x"}}},
	{
		name: "listed and labelled: both keys are checked", user: alice,
		obj:     &obj{namespace: "keptn", name: "keptn-api-token", labels: map[string]string{tokens.LabelGuard: tokens.GuardToken}, data: map[string]string{"keptn-api-token": strong}},
		denials: []string{"data[token]: Required value"},
	},
	{
		name: "listed and labelled with the same key: one denial", user: alice,
		obj: &obj{namespace: "keptn", name: "keptn-api-token", labels: map[string]string{tokens.LabelGuard: tokens.GuardToken},
			annotations: map[string]string{tokens.AnnotationTokenKey: "keptn-api-token"}, data: map[string]string{"keptn-api-token": len15}},
		denials: []string{"data[keptn-api-token]: Invalid value"},
	},
	{
		name: "a guarded token Secret is judged once, by the token Secret policy", user: alice,
		obj:     &obj{name: "tok", typ: tokens.TypeToken, labels: map[string]string{tokens.LabelGuard: tokens.GuardToken}, data: with(aliceToken, "token", len15)},
		denials: []string{"data[token]: Invalid value"},
	},
	{name: "an unguarded Secret is untouched", user: alice, obj: &obj{name: "plain", data: map[string]string{"token": "x"}}},
}

func TestGuardedSecret(t *testing.T) { runAdmissions(t, guardedCases) }

// The guarded Secret's match condition stops looking at values beyond the
// engine's cap on a Secret's keys, which denies such a Secret anyway.
func TestGuardedConditionBound(t *testing.T) {
	want := fmt.Sprintf("size(object.data) > %d", engine.MaxSecretKeys)
	if c := tokens.NewGuardedSecretPolicy().Handles()[0].MatchCondition; !strings.Contains(c, want) {
		t.Fatalf("the mutating condition lacks %q:\n%s", want, c)
	}
}

// Mutate generates on CREATE only, also when called for another operation
// (the rules, CREATE alone, keep the engine from doing so).
func TestMutateGeneratesOnCreateOnly(t *testing.T) {
	for _, p := range []policies.Mutator{tokens.NewTokenSecretPolicy(), tokens.NewGuardedSecretPolicy()} {
		for _, op := range []policies.Operation{policies.Update, policies.Delete, policies.Create} {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "keptn", Name: "keptn-api-token"}, Type: tokens.TypeToken,
				Data: map[string][]byte{"token": nil, "keptn-api-token": nil, "user-id": []byte("alice"), "ttl": []byte("1")}}
			res := p.Mutate(&policies.Request{Operation: op, Object: s, User: alice, Config: testConfig()})
			got := len(s.Data["token"]) + len(s.Data["keptn-api-token"])
			if want := map[policies.Operation]int{policies.Create: 40}[op]; got != want || len(res.Warnings) != min(want, 1) {
				t.Errorf("%s on %s: generated %d characters, warnings %q; want %d", p.Name(), op, got, res.Warnings, want)
			}
		}
	}
}
