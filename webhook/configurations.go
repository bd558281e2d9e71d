package webhook

import (
	"slices"

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
	ops := map[schema.GroupVersionResource][]admissionregistrationv1.OperationType{}
	for _, p := range ps {
		for _, r := range p.Handles() {
			if (mutating && !r.Mutating) || (!mutating && !r.Validating) {
				continue
			}
			gvr := r.GroupVersionResource()
			for _, op := range r.Operations {
				if !slices.Contains(ops[gvr], op) {
					ops[gvr] = append(ops[gvr], op)
				}
			}
		}
	}
	gvrs := make([]schema.GroupVersionResource, 0, len(ops))
	for gvr := range ops {
		gvrs = append(gvrs, gvr)
	}
	slices.SortFunc(gvrs, func(a, b schema.GroupVersionResource) int {
		if c := compare(a.Group, b.Group); c != 0 {
			return c
		}
		if c := compare(a.Version, b.Version); c != 0 {
			return c
		}
		return compare(a.Resource, b.Resource)
	})
	order := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete}
	rules := make([]admissionregistrationv1.RuleWithOperations, 0, len(gvrs))
	for _, gvr := range gvrs {
		var sorted []admissionregistrationv1.OperationType
		for _, op := range order {
			if slices.Contains(ops[gvr], op) {
				sorted = append(sorted, op)
			}
		}
		scope := admissionregistrationv1.NamespacedScope
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

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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
// for the policies: failurePolicy Fail, sideEffects None, a 5 s timeout.
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
