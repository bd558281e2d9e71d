// Package service is devgate's policy for Services (SPEC 2): it gives a Service
// with dev.okteto.com/auto-ingress an HTTPS endpoint on the platform domain,
// turns LoadBalancer and NodePort Services into endpoints, records the
// endpoint's URL, and describes the Ingress the controller owns for it.
package service

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
)

// Policy is the Service policy: a Mutator, a Validator and a Generator.
type Policy struct{}

// New returns the Service policy.
func New() *Policy { return &Policy{} }

var (
	_ policies.Mutator   = (*Policy)(nil)
	_ policies.Validator = (*Policy)(nil)
	_ policies.Generator = (*Policy)(nil)
)

// Name implements policies.Policy.
func (*Policy) Name() string { return "service-endpoint" }

// Handles implements policies.Policy: v1 Services on CREATE and UPDATE, in
// both webhooks, each with the condition under which the policy can act.
func (*Policy) Handles() []policies.Rule {
	// Mutate reads req.Object alone. It changes a Service only through the
	// auto-ingress annotation (an endpoint, or the implicit "true"), the
	// endpoint annotation it owns (set, or deleted when stale) and the
	// conversion of a LoadBalancer or NodePort Service (whatever
	// convertLoadBalancedServices says: the setting may change on reload). A
	// Service with none of these leaves Mutate without a change or a
	// warning. oldObject is matched too, so a Service losing its annotations
	// is still seen.
	const mutates = `(object != null && has(object.metadata.annotations) &&
		("dev.okteto.com/auto-ingress" in object.metadata.annotations || "devgate.dev/endpoint" in object.metadata.annotations)) ||
	(object != null && has(object.spec) && has(object.spec.type) && object.spec.type in ["LoadBalancer", "NodePort"]) ||
	(oldObject != null && has(oldObject.metadata.annotations) &&
		("dev.okteto.com/auto-ingress" in oldObject.metadata.annotations || "devgate.dev/endpoint" in oldObject.metadata.annotations))`
	// Validate denies nothing without the auto-ingress annotation on
	// req.Object (after the mutating webhook, which writes it out on the
	// Services it converts), except an ExternalName Service or one with
	// externalIPs, whatever its annotations (isolation.go); oldObject is
	// matched too, as above.
	const validates = `(object != null && has(object.metadata.annotations) && "dev.okteto.com/auto-ingress" in object.metadata.annotations) ||
	(object != null && has(object.spec) && ((has(object.spec.type) && object.spec.type == "ExternalName") || (has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0))) ||
	(oldObject != null && has(oldObject.metadata.annotations) && "dev.okteto.com/auto-ingress" in oldObject.metadata.annotations)`
	gvk := corev1.SchemeGroupVersion.WithKind("Service")
	return []policies.Rule{
		{GroupVersionKind: gvk, Resource: "services", Operations: []policies.Operation{policies.Create, policies.Update},
			Mutating: true, MatchCondition: mutates},
		{GroupVersionKind: gvk, Resource: "services", Operations: []policies.Operation{policies.Create, policies.Update},
			Validating: true, MatchCondition: validates},
	}
}

// Mutate implements policies.Mutator.
func (*Policy) Mutate(req *policies.Request) policies.Result {
	svc, ok := req.Object.(*corev1.Service)
	if !ok || svc == nil {
		return policies.Result{}
	}
	return policies.Result{Warnings: Mutate(svc, req.Config)}
}

// Validate implements policies.Validator.
func (*Policy) Validate(req *policies.Request) policies.Result {
	svc, ok := req.Object.(*corev1.Service)
	if !ok || svc == nil {
		return policies.Result{}
	}
	return policies.Result{Denials: Validate(svc, req.Config, req.Lookup)}
}

// Generate implements policies.Generator: the Ingress or HTTPRoute the
// controller owns for the Service, if it gets an endpoint.
func (*Policy) Generate(obj runtime.Object, cfg *config.Config) ([]client.Object, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	desired, err := DesiredEndpoint(svc, cfg)
	if desired == nil {
		return nil, err
	}
	return []client.Object{desired}, nil
}

// DesiredEndpoint is the object that makes svc's endpoint under
// endpoints.kind: DesiredHTTPRoute in httproute mode, else DesiredIngress.
// It is nil, never a typed nil, when svc gets no endpoint.
func DesiredEndpoint(svc *corev1.Service, cfg *config.Config) (client.Object, error) {
	if cfg.HTTPRoutes() {
		route, err := DesiredHTTPRoute(svc, cfg)
		if route == nil {
			return nil, err
		}
		return route, nil
	}
	ing, err := DesiredIngress(svc, cfg)
	if ing == nil {
		return nil, err
	}
	return ing, nil
}

// Mutate applies the Service mutation to svc in place and returns its
// warnings. It is idempotent: a converted Service is ClusterIP and carries
// the annotation it was given, so a second run finds nothing to do.
func Mutate(svc *corev1.Service, cfg *config.Config) []string {
	v, has := svc.Annotations[AnnotationAutoIngress]
	var convertedFrom corev1.ServiceType
	// An invalid value is left for Validate to deny, unconverted.
	if cfg.ConvertLoadBalanced() && loadBalanced(svc) && (!has || v == AutoIngressTrue || v == AutoIngressPrivate) {
		convertedFrom = svc.Spec.Type
		convertToClusterIP(svc)
	}
	// A converted Service without the annotation is treated as "true", and
	// gets the annotation written out so the controller and the CLI see it.
	implicit := convertedFrom != "" && !has
	mode := v
	if implicit {
		mode = AutoIngressTrue
	}
	url := "" // of the endpoint, "" when the Service gets none
	var problems field.ErrorList
	if mode == AutoIngressTrue || mode == AutoIngressPrivate {
		var ep Endpoint
		if ep, problems = endpoint(svc, mode, cfg, nil); len(problems) == 0 {
			url = ep.URL()
		}
	}
	if url != "" {
		if implicit {
			setAnnotation(svc, AnnotationAutoIngress, AutoIngressTrue)
		}
		setAnnotation(svc, AnnotationEndpoint, url)
	} else {
		// devgate owns the annotation: a stale or hand-written one goes.
		delete(svc.Annotations, AnnotationEndpoint)
	}
	if convertedFrom == "" {
		return nil
	}
	msg := fmt.Sprintf("%s: type %s converted to ClusterIP (convertLoadBalancedServices)", describe(svc), convertedFrom)
	switch {
	case url != "":
		msg += "; its endpoint is " + url
	case implicit:
		// Not a denial: the tenant did not ask for an endpoint.
		reasons := make([]string, 0, len(problems))
		for _, p := range problems {
			reasons = append(reasons, p.Error())
		}
		msg += "; it gets no endpoint: " + strings.Join(reasons, "; ")
	}
	return []string{msg}
}

// Validate returns every reason to deny svc: an ExternalName or externalIPs
// that reach past the namespace (whatever the annotation, see isolation.go),
// an invalid auto-ingress value, or an endpoint asked for that the Service
// cannot have. lookup knows the namespaces that exist, among which host
// ownership is decided (nil: none but svc's).
func Validate(svc *corev1.Service, cfg *config.Config, lookup policies.Lookup) field.ErrorList {
	if lookup == nil {
		lookup = policies.NoLookup{}
	}
	owners := policies.Owners(lookup, cfg)
	errs := isolation(svc, cfg, lookup)
	v, has := svc.Annotations[AnnotationAutoIngress]
	switch {
	case !has || v == AutoIngressFalse:
		return errs
	case v == AutoIngressTrue || v == AutoIngressPrivate:
		_, epErrs := endpoint(svc, v, cfg, owners)
		return append(errs, epErrs...)
	default:
		return append(errs, field.NotSupported(annotationPath(AnnotationAutoIngress), shown(v), autoIngressValues))
	}
}

func setAnnotation(svc *corev1.Service, key, value string) {
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[key] = value
}

// describe names svc in warnings: "Service alice/web".
func describe(svc *corev1.Service) string {
	return fmt.Sprintf("Service %s/%s", svc.Namespace, svc.Name)
}
