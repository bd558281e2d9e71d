package ingress

import (
	"fmt"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// CertificateSecretName is the Secret that cert-manager fills with the
// certificate of the Ingress named ingressName, in cert-manager mode.
func CertificateSecretName(ingressName string) string { return ingressName + "-tls" }

// ensureTLS gives every rule host hs (appendRuleHosts) a spec.tls entry as
// tls.mode says (SPEC 3). A host already listed in any entry is covered and
// left alone, so the tenant's own entries win and a second run adds nothing.
func ensureTLS(ing *networkingv1.Ingress, cfg *config.Config, hs []string) {
	if cfg.TLS.Mode == config.TLSModeNone {
		return
	}
	if len(hs) == 0 {
		return
	}
	if cfg.TLS.Mode == config.TLSModeCertManager {
		setClusterIssuer(ing, cfg.TLS.ClusterIssuer)
	}
	missing := uncovered(ing, hs)
	if len(missing) == 0 {
		return
	}
	switch cfg.TLS.Mode {
	case config.TLSModeCertManager:
		if ing.Name == "" {
			return // no Secret name to give: validateTLS denies
		}
		addTLSHosts(ing, CertificateSecretName(ing.Name), missing)
	default:
		// default-certificate: no secretName, the controller's default
		// wildcard certificate serves the hosts.
		addTLSHosts(ing, "", missing)
	}
}

// setClusterIssuer asks cert-manager for certificates from the platform's
// ClusterIssuer, unless the tenant names an issuer of its own: cert-manager
// refuses an Ingress that names both.
func setClusterIssuer(ing *networkingv1.Ingress, issuer string) {
	if issuer == "" {
		return
	}
	for _, own := range []string{cmapi.IngressIssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey} {
		if _, ok := ing.Annotations[own]; ok {
			return
		}
	}
	setAnnotation(&ing.Annotations, AnnotationClusterIssuer, issuer)
}

// uncovered are the hosts of hs that no spec.tls entry lists, in the order
// of hs. It is linear in hosts plus TLS hosts: one or two of each, the usual
// case, are compared directly; more go through a set of the TLS hosts.
func uncovered(ing *networkingv1.Ingress, hs []string) []string {
	if len(hs) == 0 {
		return nil
	}
	tlsHosts := 0
	for _, t := range ing.Spec.TLS {
		tlsHosts += len(t.Hosts)
	}
	var missing []string
	if len(hs)*tlsHosts <= 16 {
		// A handful: comparing costs less than building a set.
		for _, h := range hs {
			if !tlsListed(ing.Spec.TLS, h) {
				missing = append(missing, h)
			}
		}
		return missing
	}
	covered := make(map[string]struct{}, tlsHosts)
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			covered[h] = struct{}{}
		}
	}
	for _, h := range hs {
		if _, ok := covered[h]; !ok {
			missing = append(missing, h)
		}
	}
	return missing
}

// tlsListed reports whether any entry of tls lists host.
func tlsListed(tls []networkingv1.IngressTLS, host string) bool {
	for _, t := range tls {
		if slices.Contains(t.Hosts, host) {
			return true
		}
	}
	return false
}

// addTLSHosts appends hosts to the entry with secretName, or to a new one. One
// entry per Secret: cert-manager refuses two entries with the same secretName.
// A hosts-only entry is extended only if it lists hosts already, since an
// entry without hosts means something else to the controller.
func addTLSHosts(ing *networkingv1.Ingress, secretName string, hosts []string) {
	for i := range ing.Spec.TLS {
		t := &ing.Spec.TLS[i]
		if t.SecretName == secretName && (secretName != "" || len(t.Hosts) > 0) {
			t.Hosts = append(t.Hosts, hosts...)
			return
		}
	}
	ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts, SecretName: secretName})
}

// dropTLSHosts removes the replaced hosts (a set) from spec.tls, and every
// entry left without hosts by it. Entries that listed no host to begin with
// stay. It is linear in the TLS hosts.
func dropTLSHosts(ing *networkingv1.Ingress, replaced map[string]struct{}) {
	if len(replaced) == 0 || len(ing.Spec.TLS) == 0 {
		return
	}
	var kept []networkingv1.IngressTLS
	for _, t := range ing.Spec.TLS {
		if len(t.Hosts) == 0 {
			kept = append(kept, t)
			continue
		}
		var hs []string
		for _, h := range t.Hosts {
			if _, drop := replaced[h]; !drop {
				hs = append(hs, h)
			}
		}
		if len(hs) > 0 {
			t.Hosts = hs
			kept = append(kept, t)
		}
	}
	ing.Spec.TLS = kept
}

// validateTLS denies a rule host without TLS entry. After the mutation that is
// only a cert-manager Ingress without metadata.name (no Secret name to give),
// or an Ingress the mutating webhook did not see.
func validateTLS(ing *networkingv1.Ingress, cfg *config.Config, owners hosts.Namespaces) field.ErrorList {
	if cfg.TLS.Mode == config.TLSModeNone {
		return nil
	}
	var errs field.ErrorList
	var buf [4]string
	for _, h := range uncovered(ing, appendRuleHosts(buf[:0], ing, cfg, owners)) {
		detail := fmt.Sprintf("the host %s has no spec.tls entry; tls.mode %s gives every host one", shown(h), cfg.TLS.Mode)
		if cfg.TLS.Mode == config.TLSModeCertManager && ing.Name == "" {
			detail += fmt.Sprintf(" whose Secret is named after the Ingress (%s): set metadata.name instead of generateName", CertificateSecretName("<name>"))
		}
		errs = append(errs, field.Required(field.NewPath("spec", "tls"), detail))
	}
	return errs
}
