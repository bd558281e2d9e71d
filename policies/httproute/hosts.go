package httproute

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
	"devgate.dev/devgate/policies/ingress"
)

// generateHostOff is read as "not set", as on Ingresses.
const generateHostOff = "false"

// generateHostValue is the value of dev.okteto.com/generate-host and whether
// it asks for a host at all ("false" does not).
func generateHostValue(r *gatewayv1.HTTPRoute) (string, bool) {
	v, ok := r.Annotations[AnnotationGenerateHost]
	if !ok || v == generateHostOff {
		return "", false
	}
	return v, true
}

// generatedHost is the host that the generate-host value asks for on r, or
// why there can be none: an invalid value, a missing name, a label too long.
func generatedHost(value string, r *gatewayv1.HTTPRoute, domain string) (host, problem string) {
	name, what, problem := generatedName(value, r)
	if problem != "" {
		return "", problem
	}
	if !hosts.LabelFits(name, r.Namespace) {
		label := hosts.Label(name, r.Namespace)
		return "", fmt.Sprintf("the generated host %s is too long: %s: %s",
			hosts.Host(label, domain), hosts.LabelTooLong(label), hosts.Shorten(what, name, r.Namespace))
	}
	return hosts.For(name, r.Namespace, domain), ""
}

// generatedName is the name that the generate-host value puts before the
// namespace in the host's label ("" for "domain"), and what it is for
// messages; or why the value gives no host.
func generatedName(value string, r *gatewayv1.HTTPRoute) (name, what, problem string) {
	switch value {
	case ingress.GenerateHostTrue:
		if r.Name == "" {
			return "", "", `the host is named after the HTTPRoute and metadata.name is not set (generateName is resolved after admission): set metadata.name, or use generate-host "domain" or a label such as "api"`
		}
		return r.Name, "the HTTPRoute name", ""
	case ingress.GenerateHostDomain:
		// <namespace>.<domain>: the namespace is a DNS label, so it always fits.
		return "", "", ""
	default:
		if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
			return "", "", fmt.Sprintf(`must be "true", "domain" or a DNS label such as "api" (%s)`, strings.Join(errs, "; "))
		}
		return value, "the generate-host label", ""
	}
}

// generateHostnames applies dev.okteto.com/generate-host, or gives a route
// without hostnames the host generate-host "true" would give: a route without
// hostnames matches every host of its listeners, other tenants' too. Running
// it again changes nothing: the one hostname is already the generated one.
func generateHostnames(r *gatewayv1.HTTPRoute, cfg *config.Config) []string {
	v, set := generateHostValue(r)
	if !set {
		if len(r.Spec.Hostnames) > 0 {
			return nil
		}
		v = ingress.GenerateHostTrue
	}
	host, problem := generatedHost(v, r, cfg.Domain)
	if problem != "" {
		return nil // Validate denies the annotation, or the missing hostnames
	}
	old := r.Spec.Hostnames
	if len(old) == 1 && string(old[0]) == host {
		return nil
	}
	var replaced []string
	seen := map[string]bool{host: true}
	for _, h := range old {
		if !seen[string(h)] {
			seen[string(h)] = true
			replaced = append(replaced, string(h))
		}
	}
	r.Spec.Hostnames = []gatewayv1.Hostname{gatewayv1.Hostname(host)}
	if len(replaced) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s: the hostname %s replaces %s", describe(r), AnnotationGenerateHost, host, strings.Join(replaced, ", "))}
}

// validateHostnames denies a generate-host that cannot be honoured, a route
// without hostnames, and every hostname outside the namespace's names. Field
// paths are built only for a denial.
func validateHostnames(r *gatewayv1.HTTPRoute, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	var errs field.ErrorList
	ns, domain := r.Namespace, cfg.Domain
	if v, set := generateHostValue(r); set {
		if _, problem := generatedHost(v, r, domain); problem != "" {
			// Once the annotation is fixed its host replaces the hostnames:
			// judging them now would only add noise.
			return field.ErrorList{field.Invalid(annotationPath(AnnotationGenerateHost), shown(v), problem)}
		}
	}
	if len(r.Spec.Hostnames) == 0 {
		detail := "an HTTPRoute without hostnames matches every host of its Gateway's listeners, other tenants' too: "
		if _, problem := generatedHost(ingress.GenerateHostTrue, r, domain); problem != "" {
			detail += fmt.Sprintf("it would get a host as with %s: %q, but %s", AnnotationGenerateHost, ingress.GenerateHostTrue, problem)
		} else {
			// Only reached when the mutating webhook did not run.
			detail += fmt.Sprintf("set a hostname (%s) or %s", hosts.Pattern(ns, domain), AnnotationGenerateHost)
		}
		return append(errs, field.Required(field.NewPath("spec", "hostnames"), detail))
	}
	for i, h := range r.Spec.Hostnames {
		if err := checkHost(string(h), ns, domain, owners); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "hostnames").Index(i), shown(string(h)),
				fmt.Sprintf("%v: must be %s", err, hosts.Pattern(ns, domain))))
		}
	}
	return errs
}

// checkHost reports why an HTTPRoute in namespace may not serve host, or nil:
// the host rules of Ingresses (one label under the domain that fits the
// namespace) and the ownership rule (no longer namespace owns the host).
func checkHost(host, namespace, domain string, owners hosts.Namespaces) error {
	if err := hosts.Check(host, namespace, domain); err != nil {
		return err
	}
	return hosts.CheckOwner(host, namespace, domain, owners)
}

// allowedHostnames are r's hostnames in order, each once, that the namespace
// may use: the ones the endpoints annotation records.
func allowedHostnames(r *gatewayv1.HTTPRoute, cfg *config.Config, owners hosts.Namespaces) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range r.Spec.Hostnames {
		s := string(h)
		if !seen[s] && checkHost(s, r.Namespace, cfg.Domain, owners) == nil {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ServedHosts are the hostnames r serves, each once, in order. The webhook's
// index of hosts in use and `devgate check` read them to decide whether a new
// namespace would take a host another namespace already serves.
func ServedHosts(r *gatewayv1.HTTPRoute) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range r.Spec.Hostnames {
		if s := string(h); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
