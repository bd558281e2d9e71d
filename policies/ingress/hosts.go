package ingress

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// generateHostValue is the value of dev.okteto.com/generate-host and whether it
// asks for a host at all ("false" does not).
func generateHostValue(ing *networkingv1.Ingress) (string, bool) {
	v, ok := ing.Annotations[AnnotationGenerateHost]
	if !ok || v == generateHostOff {
		return "", false
	}
	return v, true
}

// generatedHost is the host that the generate-host value asks for on ing, or
// why there can be none: an invalid value, a missing name, a label too long.
func generatedHost(value string, ing *networkingv1.Ingress, domain string) (host, problem string) {
	name, what, problem := generatedName(value, ing)
	if problem == "" {
		problem = labelProblem(name, what, ing.Namespace, domain)
	}
	if problem != "" {
		return "", problem
	}
	return hosts.For(name, ing.Namespace, domain), ""
}

// generatedHostProblem is the problem of generatedHost alone, for validation:
// it builds no host when there is none.
func generatedHostProblem(value string, ing *networkingv1.Ingress, domain string) string {
	name, what, problem := generatedName(value, ing)
	if problem != "" {
		return problem
	}
	return labelProblem(name, what, ing.Namespace, domain)
}

// generatedName is the name that the generate-host value puts before the
// namespace in the host's label ("" for "domain"), and what it is for
// messages; or why the value gives no host.
func generatedName(value string, ing *networkingv1.Ingress) (name, what, problem string) {
	switch value {
	case GenerateHostTrue:
		if ing.Name == "" {
			return "", "", `the host is named after the Ingress and metadata.name is not set (generateName is resolved after admission): set metadata.name, or use generate-host "domain" or a label such as "api"`
		}
		return ing.Name, "the Ingress name", ""
	case GenerateHostDomain:
		// <namespace>.<domain>: the namespace is a DNS label, so it always fits.
		return "", "", ""
	default:
		if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
			return "", "", fmt.Sprintf(`must be "true", "domain" or a DNS label such as "api" (%s)`, strings.Join(errs, "; "))
		}
		return value, "the generate-host label", ""
	}
}

// labelProblem says why the generated label of name in namespace does not fit
// in one DNS label, or "" when it does; what names the name for the reader.
func labelProblem(name, what, namespace, domain string) string {
	if hosts.LabelFits(name, namespace) {
		return ""
	}
	label := hosts.Label(name, namespace)
	return fmt.Sprintf("the generated host %s is too long: %s: %s",
		hosts.Host(label, domain), hosts.LabelTooLong(label), hosts.Shorten(what, name, namespace))
}

// catchAll reports whether ing has a rule without host, or no rule but a
// default backend: ingress-nginx sends every unmatched host there, so it would
// capture other tenants' traffic.
func catchAll(ing *networkingv1.Ingress) bool {
	if len(ing.Spec.Rules) == 0 {
		return ing.Spec.DefaultBackend != nil
	}
	for _, r := range ing.Spec.Rules {
		if r.Host == "" {
			return true
		}
	}
	return false
}

// generateHosts applies dev.okteto.com/generate-host, or gives catch-all rules
// the host generate-host "true" would give when the annotation is not set.
func generateHosts(ing *networkingv1.Ingress, cfg *config.Config) []string {
	if v, set := generateHostValue(ing); set {
		host, problem := generatedHost(v, ing, cfg.Domain)
		if problem != "" {
			return nil // Validate denies the annotation
		}
		return replaceRules(ing, host)
	}
	if !catchAll(ing) {
		return nil
	}
	host, problem := generatedHost(GenerateHostTrue, ing, cfg.Domain)
	if problem != "" {
		return nil // Validate denies the catch-all rule
	}
	return fillHostless(ing, host)
}

// replaceRules replaces the rules by one rule for host with the paths of the
// first rule. TLS hosts of the replaced hosts are dropped with them, or they
// would stay behind, uncovered by any rule and denied if foreign. Running it
// again changes nothing: the one rule is already the first rule.
func replaceRules(ing *networkingv1.Ingress, host string) []string {
	old := ing.Spec.Rules
	var value networkingv1.IngressRuleValue
	if len(old) > 0 {
		value = old[0].IngressRuleValue
	}
	// replaced keeps the first-seen order for the warning; seen makes the
	// loop linear in the number of rules (a list lookup made it quadratic).
	var replaced []string
	var seen map[string]struct{}
	for _, r := range old {
		if r.Host == "" || r.Host == host {
			continue
		}
		if _, dup := seen[r.Host]; dup {
			continue
		}
		if seen == nil {
			seen = map[string]struct{}{}
		}
		seen[r.Host] = struct{}{}
		replaced = append(replaced, r.Host)
	}
	// The one rule takes the first rule's slot rather than a new slice: the
	// Ingress is ours to change in place (the engine diffs against its own
	// copy), and value was copied out above.
	ing.Spec.Rules = append(old[:0], networkingv1.IngressRule{Host: host, IngressRuleValue: value})
	dropTLSHosts(ing, seen)

	var what []string
	if len(replaced) > 0 {
		what = append(what, "replaces "+strings.Join(replaced, ", "))
	}
	if len(old) > 1 {
		what = append(what, fmt.Sprintf("keeps only the paths of the first of %d rules", len(old)))
	}
	if len(what) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s: the host %s %s", describe(ing), AnnotationGenerateHost, host, strings.Join(what, " and "))}
}

// fillHostless gives every rule without host the host generate-host "true"
// would give; an Ingress with only a default backend gets a rule for it, which
// confines the default backend to that host.
func fillHostless(ing *networkingv1.Ingress, host string) []string {
	if len(ing.Spec.Rules) == 0 {
		ing.Spec.Rules = []networkingv1.IngressRule{{Host: host}}
		return []string{fmt.Sprintf("%s: an Ingress without rules sends every host's traffic to spec.defaultBackend: added a rule for %s, as with %s: %q",
			describe(ing), host, AnnotationGenerateHost, GenerateHostTrue)}
	}
	var filled []string
	for i := range ing.Spec.Rules {
		if ing.Spec.Rules[i].Host == "" {
			ing.Spec.Rules[i].Host = host
			filled = append(filled, fmt.Sprintf("spec.rules[%d]", i))
		}
	}
	return []string{fmt.Sprintf("%s: a rule without host catches every tenant's traffic: gave %s the host %s, as with %s: %q",
		describe(ing), strings.Join(filled, ", "), host, AnnotationGenerateHost, GenerateHostTrue)}
}

// validateHosts denies a generate-host that cannot be honoured, catch-all
// rules, and every rule or TLS host outside the namespace's names. Field paths
// are built only for a denial: most Ingresses have none.
func validateHosts(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	var errs field.ErrorList
	ns, domain := ing.Namespace, cfg.Domain
	checkRules := true
	if v, set := generateHostValue(ing); set {
		if problem := generatedHostProblem(v, ing, domain); problem != "" {
			errs = append(errs, field.Invalid(annotationPath(AnnotationGenerateHost), shown(v), problem))
			// Once the annotation is fixed its host replaces the rules' hosts:
			// judging them now would only add noise.
			checkRules = false
		}
	}
	if checkRules {
		if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend != nil {
			errs = append(errs, field.Required(field.NewPath("spec", "rules"), "an Ingress without rules sends every host's traffic to spec.defaultBackend: "+catchAllFix(ing, domain)))
		}
		for i, r := range ing.Spec.Rules {
			if r.Host == "" {
				errs = append(errs, field.Required(ruleHostPath(i), "a rule without host catches every tenant's traffic: "+catchAllFix(ing, domain)))
				continue
			}
			if err := checkHost(r.Host, ns, domain, owners); err != nil {
				errs = append(errs, hostDenial(ruleHostPath(i), r.Host, err, ns, domain))
			}
		}
	}
	for i, t := range ing.Spec.TLS {
		for j, h := range t.Hosts {
			if err := checkHost(h, ns, domain, owners); err != nil {
				errs = append(errs, hostDenial(field.NewPath("spec", "tls").Index(i).Child("hosts").Index(j), h, err, ns, domain))
			}
		}
	}
	return errs
}

// ruleHostPath is the field path of the host of rule i.
func ruleHostPath(i int) *field.Path { return field.NewPath("spec", "rules").Index(i).Child("host") }

// catchAllFix says why the mutation could not give a catch-all rule its host
// and what to do instead.
func catchAllFix(ing *networkingv1.Ingress, domain string) string {
	problem := generatedHostProblem(GenerateHostTrue, ing, domain)
	if problem == "" {
		// Only reached when the mutating webhook did not run.
		return fmt.Sprintf("set a host (%s) or %s", hosts.Pattern(ing.Namespace, domain), AnnotationGenerateHost)
	}
	return fmt.Sprintf("it would get a host as with %s: %q, but %s", AnnotationGenerateHost, GenerateHostTrue, problem)
}

// checkHost reports why an Ingress in namespace may not serve host, or nil:
// every host rule of SPEC 3 (one label under the domain that fits the
// namespace) and the ownership rule (no longer namespace owns the host). Rule
// hosts, TLS hosts and server aliases all go through it.
func checkHost(host, namespace, domain string, owners hosts.Namespaces) error {
	if err := hosts.Check(host, namespace, domain); err != nil {
		return err
	}
	return hosts.CheckOwner(host, namespace, domain, owners)
}

// hostDenial denies host at p, which hosts.Check refused with err.
func hostDenial(p *field.Path, host string, err error, namespace, domain string) *field.Error {
	return field.Invalid(p, shown(host), fmt.Sprintf("%v: must be %s", err, hosts.Pattern(namespace, domain)))
}
