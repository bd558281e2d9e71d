// Package ingress is devgate's policy for tenant Ingresses (SPEC 3, 4): it keeps
// every host inside the namespace's names under the platform domain, generates
// hosts on request, gives every host TLS, denies nginx configuration injection,
// makes private endpoints private and records the endpoint URLs.
package ingress

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Policy is the Ingress policy. It is both a Mutator and a Validator.
type Policy struct{}

// New returns the Ingress policy.
func New() *Policy { return &Policy{} }

var (
	_ policies.Mutator   = (*Policy)(nil)
	_ policies.Validator = (*Policy)(nil)
)

// Name implements policies.Policy.
func (*Policy) Name() string { return "ingress-endpoint" }

// Handles implements policies.Policy: networking.k8s.io/v1 Ingresses on CREATE
// and UPDATE, in both webhooks. No match condition: every Ingress has its
// hosts checked (and a rule without a host gets one), every host gets TLS and
// every nginx annotation is screened, whatever its annotations.
func (*Policy) Handles() []policies.Rule {
	return []policies.Rule{{
		GroupVersionKind: networkingv1.SchemeGroupVersion.WithKind("Ingress"),
		Resource:         "ingresses",
		Operations:       []policies.Operation{policies.Create, policies.Update},
		Mutating:         true,
		Validating:       true,
	}}
}

// Mutate implements policies.Mutator.
func (*Policy) Mutate(req *policies.Request) policies.Result {
	ing, ok := req.Object.(*networkingv1.Ingress)
	if !ok || ing == nil {
		return policies.Result{}
	}
	return policies.Result{Warnings: mutate(ing, req.Config, req.Owners())}
}

// Validate implements policies.Validator.
func (*Policy) Validate(req *policies.Request) policies.Result {
	ing, ok := req.Object.(*networkingv1.Ingress)
	if !ok || ing == nil {
		return policies.Result{}
	}
	return policies.Result{Denials: Validate(ing, req.Config, req.Owners())}
}

// Mutate applies the Ingress mutation to ing in place and returns its warnings.
// The controller runs it on the Ingresses it generates, so that the mutating
// webhook finds nothing left to change in them. Mutate is idempotent and never
// denies: what it cannot fix is left for Validate.
func Mutate(ing *networkingv1.Ingress, cfg *config.Config) []string {
	return mutate(ing, cfg, nil)
}

// mutate is Mutate knowing the owners of hosts: a host of another namespace
// gets no TLS entry and is not recorded, since validation denies it.
func mutate(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) []string {
	// Order matters: TLS and the endpoints annotation follow the hosts as
	// generated, so hosts come first.
	warnings := generateHosts(ing, cfg)
	// The rules are final from here on: their hosts are checked once, into a
	// buffer on the stack for the usual handful.
	var buf [4]string
	hs := appendRuleHosts(buf[:0], ing, cfg, owners)
	ensureTLS(ing, cfg, hs)
	warnings = append(warnings, mutatePrivate(ing, cfg)...)
	recordEndpoints(ing, hs)
	return warnings
}

// Validate returns every reason to deny ing, in a stable order. owners knows
// the namespaces among which host ownership is decided (nil: none but ing's).
func Validate(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateHosts(ing, cfg, owners)...)
	errs = append(errs, validateTLS(ing, cfg, owners)...)
	errs = append(errs, validateSnippets(ing, cfg)...)
	errs = append(errs, validateReach(ing, cfg, owners)...)
	errs = append(errs, validatePrivate(ing, cfg)...)
	return errs
}

// recordEndpoints writes devgate.dev/endpoints for the rule hosts hs
// (appendRuleHosts).
func recordEndpoints(ing *networkingv1.Ingress, hs []string) {
	hosts.RecordEndpoints(&ing.Annotations, AnnotationEndpoints, hs)
}

// appendRuleHosts appends to dst the hosts of spec.rules in order, each once,
// that the namespace may use. The others are denied by Validate: giving them
// TLS or recording them would only repeat the denial. Callers pass a buffer on
// their stack, which is enough for most Ingresses.
func appendRuleHosts(dst []string, ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) []string {
	seen := map[string]bool{}
	for _, r := range ing.Spec.Rules {
		if r.Host != "" && !seen[r.Host] && checkHost(r.Host, ing.Namespace, cfg.Domain, owners) == nil {
			seen[r.Host] = true
			dst = append(dst, r.Host)
		}
	}
	return dst
}

// describe names ing in warnings: "Ingress alice/web".
func describe(ing *networkingv1.Ingress) string {
	return fmt.Sprintf("Ingress %s/%s", ing.Namespace, ing.Name)
}
