package service

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Endpoint is the HTTPS endpoint a Service gets (SPEC 2).
type Endpoint struct {
	// Host is `<service-name>-<namespace>.<domain>`.
	Host string
	// Port is the Service port the endpoint serves: its first HTTP port.
	Port corev1.ServicePort
	// Private is true for auto-ingress "private" (SPEC 4).
	Private bool
}

// URL is the address devgate records in AnnotationEndpoint.
func (e *Endpoint) URL() string { return hosts.URL(e.Host) }

// optOut is how a denial tells the tenant to ask for no endpoint.
const optOut = AnnotationAutoIngress + `: "` + AutoIngressFalse + `"`

// asked quotes the annotation that asked for an endpoint, for denials.
func asked(mode string) string { return fmt.Sprintf("%s: %q", AnnotationAutoIngress, mode) }

// endpoint is the endpoint that auto-ingress value mode ("true" or "private")
// gives svc, or every reason it cannot have one. It runs on every review of
// such a Service, so the happy path builds nothing but the host: messages and
// field paths are made only for a denial, and the Endpoint is returned by
// value so that callers which only validate keep it off the heap.
//
// owners decides who owns the host (SPEC 3); nil knows no namespace but the
// Service's own, as the mutation and the controller do: the webhook's
// validation denies a host of another namespace before either acts on it.
func endpoint(svc *corev1.Service, mode string, cfg *config.Config, owners hosts.Namespaces) (Endpoint, field.ErrorList) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// An alias has no Pods behind it: the Ingress would send the tenant's
		// host wherever the name resolves (see isolation.go).
		return Endpoint{}, field.ErrorList{field.Forbidden(field.NewPath("spec", "type"), fmt.Sprintf(
			"%s asks for an endpoint, but ExternalName Services never get one: point the endpoint at a Service with Pods (a selector), or set %s", asked(mode), optOut))}
	}
	var errs field.ErrorList
	host := ""
	if svc.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), fmt.Sprintf(
			"%s names the endpoint after the Service and generateName is resolved only after admission: set metadata.name", asked(mode))))
	} else {
		host = hosts.For(svc.Name, svc.Namespace, cfg.Domain)
		if !hosts.LabelFits(svc.Name, svc.Namespace) {
			msg := hosts.LabelTooLong(hosts.Label(svc.Name, svc.Namespace))
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), svc.Name, fmt.Sprintf("%s needs the host %s, which is too long: %s: %s, or set %s",
				asked(mode), host, msg, hosts.Shorten("the Service name", svc.Name, svc.Namespace), optOut)))
		} else if err := hosts.Check(host, svc.Namespace, cfg.Domain); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), svc.Name, fmt.Sprintf("%s needs the host %s, which is not allowed: %v", asked(mode), host, err)))
		} else if err := hosts.CheckOwner(host, svc.Namespace, cfg.Domain, owners); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), svc.Name, fmt.Sprintf("%s needs the host %s, which is not allowed: %v: rename the Service, or set %s", asked(mode), host, err, optOut)))
		}
	}
	port := HTTPPort(svc)
	if port == nil {
		ports := field.NewPath("spec", "ports")
		need := fmt.Sprintf("%s needs an HTTP port: protocol TCP or unset, appProtocol unset or one of %s, and a name that does not start with %s; or set %s",
			asked(mode), strings.Join(httpAppProtocols, ", "), strings.Join(nonHTTPNamePrefixes, ", "), optOut)
		if len(svc.Spec.Ports) == 0 {
			errs = append(errs, field.Required(ports, need))
		} else {
			errs = append(errs, field.Invalid(ports, describePorts(svc), "no port is HTTP: "+need))
		}
	}
	if len(errs) > 0 {
		return Endpoint{}, errs
	}
	return Endpoint{Host: host, Port: *port, Private: mode == AutoIngressPrivate}, nil
}

// EndpointFor is the endpoint svc's auto-ingress annotation gives it, as the
// controller and the CLI see a stored Service. It is (nil, nil) when the
// annotation is absent or "false" or the namespace is not managed, and (nil,
// err) when the annotation asks for an endpoint the Service cannot have (the
// webhook denies such a Service; one stored before devgate or before a
// configuration change can still be like this).
func EndpointFor(svc *corev1.Service, cfg *config.Config) (*Endpoint, error) {
	if svc == nil || !cfg.Managed(svc.Namespace) {
		return nil, nil
	}
	v, ok := svc.Annotations[AnnotationAutoIngress]
	switch {
	case !ok || v == AutoIngressFalse:
		return nil, nil
	case v != AutoIngressTrue && v != AutoIngressPrivate:
		return nil, field.NotSupported(annotationPath(AnnotationAutoIngress), shown(v), autoIngressValues)
	}
	ep, errs := endpoint(svc, v, cfg, nil)
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &ep, nil
}
