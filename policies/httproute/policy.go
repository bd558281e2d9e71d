// Package httproute is devgate's policy for tenant Gateway API HTTPRoutes: as
// on Ingresses, it keeps every hostname inside the namespace's names under the
// platform domain and generates one on request; it attaches routes to the
// platform's Gateway and to no other, puts the auth service in front of every
// rule of a private route, and records the endpoint URLs.
package httproute

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/text"
)

// GVK is the kind the policy handles: gateway.networking.k8s.io/v1 HTTPRoute.
var GVK = gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute")

// Resource is the HTTPRoutes' resource name.
const Resource = "httproutes"

// The annotations mean on HTTPRoutes what they mean on Ingresses.
const (
	AnnotationGenerateHost = ingress.AnnotationGenerateHost
	AnnotationPrivate      = ingress.AnnotationPrivate
	AnnotationEndpoints    = ingress.AnnotationEndpoints
)

// Policy is the HTTPRoute policy. It is both a Mutator and a Validator.
type Policy struct{}

// New returns the HTTPRoute policy.
func New() *Policy { return &Policy{} }

var (
	_ policies.Mutator   = (*Policy)(nil)
	_ policies.Validator = (*Policy)(nil)
)

// Name implements policies.Policy.
func (*Policy) Name() string { return "httproute-endpoint" }

// Handles implements policies.Policy: HTTPRoutes on CREATE and UPDATE, in both
// webhooks. No match condition: every HTTPRoute has its hostnames and its
// parents checked, whatever its annotations.
func (*Policy) Handles() []policies.Rule {
	return []policies.Rule{{
		GroupVersionKind: GVK,
		Resource:         Resource,
		Operations:       []policies.Operation{policies.Create, policies.Update},
		Mutating:         true,
		Validating:       true,
	}}
}

// Mutate implements policies.Mutator.
func (*Policy) Mutate(req *policies.Request) policies.Result {
	r, ok := req.Object.(*gatewayv1.HTTPRoute)
	if !ok || r == nil {
		return policies.Result{}
	}
	return policies.Result{Warnings: mutate(r, req.Config, req.Owners())}
}

// Validate implements policies.Validator.
func (*Policy) Validate(req *policies.Request) policies.Result {
	r, ok := req.Object.(*gatewayv1.HTTPRoute)
	if !ok || r == nil {
		return policies.Result{}
	}
	return policies.Result{Denials: Validate(r, req.Config, req.Owners())}
}

// Mutate applies the HTTPRoute mutation to r in place and returns its
// warnings. The controller runs it on the HTTPRoutes it generates, so that the
// mutating webhook finds nothing left to change in them. It is idempotent and
// never denies: what it cannot fix is left for Validate.
func Mutate(r *gatewayv1.HTTPRoute, cfg *config.Config) []string {
	return mutate(r, cfg, nil)
}

// mutate is Mutate knowing the owners of hosts: a hostname of another
// namespace is not recorded, since validation denies it.
func mutate(r *gatewayv1.HTTPRoute, cfg *config.Config, owners hosts.Namespaces) []string {
	// The endpoints annotation follows the hostnames as generated, so they
	// come first.
	warnings := generateHostnames(r, cfg)
	defaultParents(r, cfg)
	warnings = append(warnings, mutatePrivate(r, cfg)...)
	recordEndpoints(r, allowedHostnames(r, cfg, owners))
	return warnings
}

// Validate returns every reason to deny r, in a stable order. owners knows the
// namespaces among which host ownership is decided (nil: none but r's).
func Validate(r *gatewayv1.HTTPRoute, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateHostnames(r, cfg, owners)...)
	errs = append(errs, validateParents(r, cfg)...)
	errs = append(errs, validatePrivate(r, cfg)...)
	errs = append(errs, validateBackends(r, cfg)...)
	return errs
}

// recordEndpoints writes devgate.dev/endpoints for the allowed hostnames
// hs.
func recordEndpoints(r *gatewayv1.HTTPRoute, hs []string) {
	hosts.RecordEndpoints(&r.Annotations, AnnotationEndpoints, hs)
}

// describe names r in warnings: "HTTPRoute alice/web".
func describe(r *gatewayv1.HTTPRoute) string {
	return fmt.Sprintf("HTTPRoute %s/%s", r.Namespace, r.Name)
}

// annotationPath is the field path of annotation key.
func annotationPath(key string) *field.Path {
	return field.NewPath("metadata", "annotations").Key(key)
}

// shown is v as quoted in a denial: cut, on a character boundary, when long.
func shown(v string) string { return text.Shown(v) }
