package webhook

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
)

var (
	secretsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	ingressesGVR = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
)

func ops(o ...policies.Operation) []policies.Operation { return o }

func TestMatchExpression(t *testing.T) {
	const prefix = `request.resource.group != "" || request.resource.resource != "secrets" ||` + "\n"
	cud := ops(policies.Create, policies.Update, policies.Delete)
	cu := ops(policies.Create, policies.Update)
	cases := []struct {
		name   string
		gvr    schema.GroupVersionResource
		rules  []policies.Rule
		want   string
		wantOK bool
	}{{
		name:   "one condition",
		gvr:    secretsGVR,
		rules:  []policies.Rule{{Operations: cu, MatchCondition: "a"}},
		want:   prefix + "(a)",
		wantOK: true,
	}, {
		name:   "conditions are ORed, sorted, each once",
		gvr:    secretsGVR,
		rules:  []policies.Rule{{Operations: cu, MatchCondition: "b"}, {Operations: cu, MatchCondition: "a"}, {Operations: cu, MatchCondition: "  b "}},
		want:   prefix + "(a) ||\n(b)",
		wantOK: true,
	}, {
		name:  "a rule without condition on every operation: no matchCondition",
		gvr:   secretsGVR,
		rules: []policies.Rule{{Operations: cud, MatchCondition: "a"}, {Operations: cud}},
	}, {
		name:  "a blank condition is no condition",
		gvr:   secretsGVR,
		rules: []policies.Rule{{Operations: cu, MatchCondition: "a"}, {Operations: cu, MatchCondition: " \n\t"}},
	}, {
		name: "a rule without condition on fewer operations counts for those only",
		gvr:  secretsGVR,
		// The second rule is redundant: the third matches its operations always.
		rules:  []policies.Rule{{Operations: cud, MatchCondition: "a"}, {Operations: cu, MatchCondition: "b"}, {Operations: cu}},
		want:   prefix + "(a) ||\n" + `request.operation in ["CREATE", "UPDATE"]`,
		wantOK: true,
	}, {
		name:   "a condition on fewer operations is guarded by them",
		gvr:    secretsGVR,
		rules:  []policies.Rule{{Operations: cu, MatchCondition: "a"}, {Operations: ops(policies.Delete), MatchCondition: "b"}},
		want:   prefix + `(request.operation in ["CREATE", "UPDATE"] && (a)) ||` + "\n" + `(request.operation in ["DELETE"] && (b))`,
		wantOK: true,
	}, {
		name:   "operations in any order",
		gvr:    secretsGVR,
		rules:  []policies.Rule{{Operations: ops(policies.Update, policies.Create), MatchCondition: "a"}, {Operations: ops(policies.Delete), MatchCondition: "a"}},
		want:   prefix + `(request.operation in ["CREATE", "UPDATE"] && (a)) ||` + "\n" + `(request.operation in ["DELETE"] && (a))`,
		wantOK: true,
	}, {
		name: "lines are trimmed and indented the same whatever the source",
		gvr:  secretsGVR,
		rules: []policies.Rule{{Operations: cu, MatchCondition: "\n\t\tx ||\n\t\t\ty\n\n"}, {Operations: cu, MatchCondition: "x ||\n    y"},
			{Operations: cu, MatchCondition: `"a  b" == z`}},
		want:   prefix + `("a  b" == z) ||` + "\n" + "(x ||\n  y)",
		wantOK: true,
	}, {
		name:   "another group",
		gvr:    ingressesGVR,
		rules:  []policies.Rule{{Operations: cu, MatchCondition: "a"}},
		want:   `request.resource.group != "networking.k8s.io" || request.resource.resource != "ingresses" ||` + "\n(a)",
		wantOK: true,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := matchExpression(c.gvr, c.rules)
			if got != c.want || ok != c.wantOK {
				t.Fatalf("matchExpression = %q, %v; want %q, %v", got, ok, c.want, c.wantOK)
			}
			// The order of the rules, i.e. of the policies, does not matter.
			reversed := slices.Clone(c.rules)
			slices.Reverse(reversed)
			if again, _ := matchExpression(c.gvr, reversed); again != got {
				t.Fatalf("rules in reverse order give %q, want %q", again, got)
			}
		})
	}
}

// fakePolicy declares rules and does nothing.
type fakePolicy []policies.Rule

func (fakePolicy) Name() string               { return "fake" }
func (p fakePolicy) Handles() []policies.Rule { return p }

func TestMatchConditions(t *testing.T) {
	secret := schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	ingress := schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	sa := schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
	cu := ops(policies.Create, policies.Update)
	ps := []policies.Policy{
		fakePolicy{
			{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Mutating: true, MatchCondition: "m"},
			{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Validating: true, MatchCondition: "v"},
		},
		fakePolicy{
			{GroupVersionKind: ingress, Resource: "ingresses", Operations: cu, Mutating: true, Validating: true, MatchCondition: "i"},
			{GroupVersionKind: sa, Resource: "serviceaccounts", Operations: cu, Validating: true},
		},
	}
	name := func(mcs []admissionregistrationv1.MatchCondition) []string {
		var names []string
		for _, mc := range mcs {
			names = append(names, mc.Name)
		}
		return names
	}
	// Sorted by group, then resource, like the rules; serviceaccounts, with a
	// rule without condition, has none.
	if got, want := name(MatchConditions(ps, true)), []string{"secrets", "ingresses.networking.k8s.io"}; !reflect.DeepEqual(got, want) {
		t.Errorf("mutating: %v, want %v", got, want)
	}
	validating := MatchConditions(ps, false)
	if got, want := name(validating), []string{"secrets", "ingresses.networking.k8s.io"}; !reflect.DeepEqual(got, want) {
		t.Errorf("validating: %v, want %v", got, want)
	}
	if len(validating) > 0 && !strings.HasSuffix(validating[0].Expression, "\n(v)") {
		t.Errorf("validating secrets: %q, want the validating rule's condition alone", validating[0].Expression)
	}
	if got := MatchConditions([]policies.Policy{fakePolicy{{GroupVersionKind: sa, Resource: "serviceaccounts", Operations: cu, Validating: true}}}, false); got != nil {
		t.Errorf("no condition at all: %v, want nil", got)
	}
}

// TestDevgateMatchConditions pins which resources devgate's own policies
// filter with a matchCondition: a change here changes which requests reach
// devgate at all.
func TestDevgateMatchConditions(t *testing.T) {
	names := func(mutating bool) []string {
		var names []string
		for _, mc := range MatchConditions(all.Policies(), mutating) {
			names = append(names, mc.Name)
		}
		return names
	}
	// Ingresses: every one has its hosts checked. Secrets are validated on
	// CREATE and UPDATE whatever their type (guarded Secrets are listed by
	// name in the configuration), on DELETE only when they are token Secrets.
	if got, want := names(true), []string{"secrets", "services"}; !reflect.DeepEqual(got, want) {
		t.Errorf("mutating webhook's matchConditions: %v, want %v", got, want)
	}
	if got, want := names(false), []string{"secrets", "serviceaccounts", "services"}; !reflect.DeepEqual(got, want) {
		t.Errorf("validating webhook's matchConditions: %v, want %v", got, want)
	}
	for _, mutating := range []bool{true, false} {
		for _, mc := range MatchConditions(all.Policies(), mutating) {
			if mutating && mc.Name == "secrets" && strings.Contains(mc.Expression, "request.operation") {
				t.Errorf("mutating secrets condition depends on the operation: %s", mc.Expression)
			}
			if !mutating && mc.Name == "secrets" && !strings.Contains(mc.Expression, `request.operation in ["CREATE", "UPDATE"]`) {
				t.Errorf("validating secrets condition lacks the guarded Secrets' CREATE and UPDATE: %s", mc.Expression)
			}
		}
	}
}
