package webhook

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"devgate.dev/devgate/policies"
)

// Names of devgate's webhook configurations and webhooks.
const (
	ConfigurationName = "devgate"
	MutatingName      = "mutate.devgate.dev"
	ValidatingName    = "validate.devgate.dev"
	// TimeoutSeconds is short because devgate sits in the path of every apply
	// and answers from memory: a slow answer means something is wrong.
	TimeoutSeconds = 5
)

// ClientConfig says how the API server reaches devgate: either through a
// Service (in-cluster) or a URL (devgate running outside, as `devgate dev`).
type ClientConfig struct {
	ServiceNamespace, ServiceName string
	ServicePort                   int32
	// URL is the base URL, e.g. https://127.0.0.1:9443; the path is appended.
	URL      string
	CABundle []byte
}

func (c ClientConfig) forPath(path string) admissionregistrationv1.WebhookClientConfig {
	if c.URL != "" {
		u := c.URL + path
		return admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: c.CABundle}
	}
	port := c.ServicePort
	if port == 0 {
		port = 443
	}
	p := path
	return admissionregistrationv1.WebhookClientConfig{
		Service:  &admissionregistrationv1.ServiceReference{Namespace: c.ServiceNamespace, Name: c.ServiceName, Path: &p, Port: &port},
		CABundle: c.CABundle,
	}
}

// Rules derives the webhook rules from what the policies declare, so the
// registered webhooks and the code can never disagree. Rules come out sorted
// by group, version and resource.
func Rules(ps []policies.Policy, mutating bool) []admissionregistrationv1.RuleWithOperations {
	byGVR := rulesByResource(ps, mutating)
	gvrs := sortedKeys(byGVR)
	rules := make([]admissionregistrationv1.RuleWithOperations, 0, len(gvrs))
	for _, gvr := range gvrs {
		var ops []admissionregistrationv1.OperationType
		for _, r := range byGVR[gvr] {
			ops = append(ops, r.Operations...)
		}
		sorted := sortedOperations(ops)
		scope := admissionregistrationv1.NamespacedScope
		if byGVR[gvr][0].ClusterScoped {
			scope = admissionregistrationv1.ClusterScope
		}
		rules = append(rules, admissionregistrationv1.RuleWithOperations{
			Operations: sorted,
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{gvr.Group}, APIVersions: []string{gvr.Version},
				Resources: []string{gvr.Resource}, Scope: &scope,
			},
		})
	}
	return rules
}

// rulesByResource groups by resource the rules the policies declare for the
// mutating or the validating webhook.
func rulesByResource(ps []policies.Policy, mutating bool) map[schema.GroupVersionResource][]policies.Rule {
	byGVR := map[schema.GroupVersionResource][]policies.Rule{}
	for _, p := range ps {
		for _, r := range p.Handles() {
			if (mutating && r.Mutating) || (!mutating && r.Validating) {
				byGVR[r.GroupVersionResource()] = append(byGVR[r.GroupVersionResource()], r)
			}
		}
	}
	return byGVR
}

// sortedKeys returns the resources of m sorted by group, version and resource.
func sortedKeys[V any](m map[schema.GroupVersionResource]V) []schema.GroupVersionResource {
	gvrs := make([]schema.GroupVersionResource, 0, len(m))
	for gvr := range m {
		gvrs = append(gvrs, gvr)
	}
	slices.SortFunc(gvrs, func(a, b schema.GroupVersionResource) int {
		if c := cmp.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return cmp.Compare(a.Resource, b.Resource)
	})
	return gvrs
}

// sortedOperations returns the distinct operations of ops in the order
// CREATE, UPDATE, DELETE.
func sortedOperations(ops []admissionregistrationv1.OperationType) []admissionregistrationv1.OperationType {
	var sorted []admissionregistrationv1.OperationType
	for _, op := range []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete} {
		if slices.Contains(ops, op) {
			sorted = append(sorted, op)
		}
	}
	return sorted
}

// MatchConditions derives a webhook's matchConditions from the conditions the
// policies declare next to their rules (policies.Rule.MatchCondition), so the
// API server calls devgate only for objects a policy can act on. The API
// server ANDs matchConditions and one webhook serves several resources, so
// there is one per resource, named after it (see matchExpression), and none
// for a resource that a rule handles without condition. They come out in the
// order of Rules; nil when there is none.
func MatchConditions(ps []policies.Policy, mutating bool) []admissionregistrationv1.MatchCondition {
	byGVR := rulesByResource(ps, mutating)
	var conditions []admissionregistrationv1.MatchCondition
	for _, gvr := range sortedKeys(byGVR) {
		if expr, ok := matchExpression(gvr, byGVR[gvr]); ok {
			conditions = append(conditions, admissionregistrationv1.MatchCondition{Name: matchConditionName(gvr), Expression: expr})
		}
	}
	return conditions
}

// matchConditionName names the matchCondition of gvr: "secrets",
// "ingresses.networking.k8s.io".
func matchConditionName(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

// matchExpression is the CEL expression of the matchCondition of gvr in one
// webhook, given the rules on gvr in that webhook: true for any other
// resource, else true when one of the rules' conditions is. A rule that
// covers fewer operations than the webhook registers for gvr counts only for
// its own operations (`request.operation in [...]`). ok is false, and no
// matchCondition is needed, when a rule without condition covers them all.
// Each condition keeps its lines, trimmed, the second and later indented by
// two spaces; the terms come out one per line, sorted, so the expression
// depends only on the rules and not on how the Go source is indented.
func matchExpression(gvr schema.GroupVersionResource, rules []policies.Rule) (expr string, ok bool) {
	var all []admissionregistrationv1.OperationType
	for _, r := range rules {
		all = append(all, r.Operations...)
	}
	all = sortedOperations(all)
	covers := func(ops, of []admissionregistrationv1.OperationType) bool {
		for _, op := range of {
			if !slices.Contains(ops, op) {
				return false
			}
		}
		return true
	}
	// A rule without condition makes every other rule on no more operations
	// than its own redundant.
	var always [][]admissionregistrationv1.OperationType
	for _, r := range rules {
		if normalizeCondition(r.MatchCondition) == "" {
			if covers(r.Operations, all) {
				return "", false
			}
			always = append(always, r.Operations)
		}
	}
	var terms []string
	for _, r := range rules {
		cond := normalizeCondition(r.MatchCondition)
		ops := sortedOperations(r.Operations)
		if cond != "" && slices.ContainsFunc(always, func(a []admissionregistrationv1.OperationType) bool { return covers(a, ops) }) {
			continue
		}
		guard := ""
		if !covers(ops, all) {
			quoted := make([]string, len(ops))
			for i, op := range ops {
				quoted[i] = strconv.Quote(string(op))
			}
			guard = "request.operation in [" + strings.Join(quoted, ", ") + "]"
		}
		var term string
		switch {
		case cond == "":
			term = guard
		case guard == "":
			term = "(" + cond + ")"
		default:
			term = "(" + guard + " && (" + cond + "))"
		}
		if !slices.Contains(terms, term) {
			terms = append(terms, term)
		}
	}
	slices.Sort(terms)
	other := fmt.Sprintf("request.resource.group != %s || request.resource.resource != %s",
		strconv.Quote(gvr.Group), strconv.Quote(gvr.Resource))
	return other + " ||\n" + strings.Join(terms, " ||\n"), true
}

// normalizeCondition trims every line of a condition, drops the empty ones
// and indents the second and later ones by two spaces.
func normalizeCondition(cond string) string {
	var lines []string
	for line := range strings.Lines(cond) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n  ")
}

// namespaceSelector keeps the API server from calling devgate for the
// namespaces it never manages, devgate's own among them, so devgate can never
// block its own recovery.
func namespaceSelector(excluded []string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: excluded,
	}}}
}

// Configurations returns the mutating and validating webhook configurations
// for the policies: failurePolicy Fail, sideEffects None, a 5 s timeout, and
// the policies' match conditions.
func Configurations(ps []policies.Policy, cc ClientConfig, excludedNamespaces []string) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	timeout := int32(TimeoutSeconds)
	reinvoke := admissionregistrationv1.NeverReinvocationPolicy
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    MutatingName,
			ClientConfig:            cc.forPath(MutatePath),
			Rules:                   Rules(ps, true),
			MatchConditions:         MatchConditions(ps, true),
			FailurePolicy:           &fail,
			MatchPolicy:             &equivalent,
			NamespaceSelector:       namespaceSelector(excludedNamespaces),
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &reinvoke,
		}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    ValidatingName,
			ClientConfig:            cc.forPath(ValidatePath),
			Rules:                   Rules(ps, false),
			MatchConditions:         MatchConditions(ps, false),
			FailurePolicy:           &fail,
			MatchPolicy:             &equivalent,
			NamespaceSelector:       namespaceSelector(excludedNamespaces),
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	return mutating, validating
}
