package engine

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Caps on the objects devgate reviews . The mutating webhook sees an
// object before the API server validates it, so an object of any shape up to
// the API server's 3 MiB request limit reaches the policies; even a server-side
// dry run, which stores nothing, does. An object beyond a cap is denied, with a
// message naming the cap, before any policy looks at it: every policy's work
// is then linear in a size bounded here, whatever the tenant writes.
//
// Each cap is far above any object written by hand or by a tool. They are
// documented in docs/operations.md ("Limits") and in the RULES.md of the
// policies they protect; changing one is a product change.
const (
	// MaxIngressRules bounds spec.rules of an Ingress. One rule is one host;
	// the largest real Ingresses (one per preview environment of a big
	// monorepo) have a few dozen, and Let's Encrypt certifies at most 100
	// names per certificate.
	MaxIngressRules = 1000
	// MaxIngressPaths bounds spec.rules[*].http.paths of one rule: an API
	// gateway with one path per route has a few hundred at most.
	MaxIngressPaths = 1000
	// MaxIngressTLS bounds spec.tls, the TLS entries of an Ingress: one per
	// Secret, so rarely more than the number of hosts.
	MaxIngressTLS = 1000
	// MaxIngressTLSHosts bounds spec.tls[*].hosts of one entry: 10 times the
	// 100 names a Let's Encrypt certificate can hold.
	MaxIngressTLSHosts = 1000
	// MaxServicePorts bounds spec.ports of a Service. Port ranges written out
	// port by port (RTP, passive FTP) reach a few hundred.
	MaxServicePorts = 1000
	// MaxSecretKeys bounds the keys of a Secret, data and stringData
	// together. The API server caps a Secret at 1 MiB: 4096 keys average 256
	// bytes each.
	MaxSecretKeys = 4096
	// MaxAnnotations bounds metadata.annotations of any object; real objects
	// carry a few dozen.
	MaxAnnotations = 500
	// MaxAnnotationBytes bounds the keys and values of metadata.annotations
	// together, and so any one value. The API server's own limit is 256 KiB,
	// but it checks it only after the mutating webhooks, and an object
	// between the two is denied by it with its usual message: devgate's cap
	// is four times that, only to bound the policies' scans of the values.
	MaxAnnotationBytes = 1 << 20
	// MaxLabels bounds metadata.labels of any object; label keys and values
	// are short (63 characters), real objects carry a few dozen.
	MaxLabels = 500
)

// limits are the caps an object is held to: the constants above for an
// object as written (the mutating webhook, `devgate check`), and a little
// more for the object the validating webhook gets, after devgate's own
// mutation, which adds to it: so that the mutation never pushes an object
// that was within the caps beyond them.
type limits struct {
	values, annotations, annotationBytes, tls, tlsHosts int
}

// writtenLimits hold an object as the tenant wrote it.
var writtenLimits = limits{MaxObjectValues, MaxAnnotations, MaxAnnotationBytes, MaxIngressTLS, MaxIngressTLSHosts}

// mutatedLimits hold an object after devgate's mutation, which may add its
// annotations (the endpoints, a cluster issuer, the three authentication
// annotations of a private endpoint: 16 allows for more), up to 320 KiB of
// them (the endpoints annotation holds the URL of every rule host: at most
// MaxIngressRules hosts of 253 bytes and "https://"), one TLS entry, and a
// host per rule in an existing TLS entry; 4096 values allow for all of them.
var mutatedLimits = limits{MaxObjectValues + 4096, MaxAnnotations + 16, MaxAnnotationBytes + 320<<10, MaxIngressTLS + 1, MaxIngressTLSHosts + MaxIngressRules}

// capDetail is appended to every cap's denial: what the cap is, and where
// caps are documented.
func capDetail(what string) string {
	return fmt.Sprintf(" (devgate's cap on %s; see docs/operations.md, \"Limits\")", what)
}

func tooMany(p *field.Path, n, limit int, what string) *field.Error {
	e := field.TooMany(p, n, limit)
	e.Detail += capDetail(what)
	return e
}

// checkLimits returns a denial for every cap of lim obj exceeds. It reads
// lengths only, except for the annotation bytes, which it adds up: linear in
// the annotations and the rules and constant in everything else. It
// allocates nothing for an object within the caps.
func checkLimits(obj client.Object, lim limits) field.ErrorList {
	var errs field.ErrorList
	annotations := obj.GetAnnotations()
	if n := len(annotations); n > lim.annotations {
		errs = append(errs, tooMany(field.NewPath("metadata", "annotations"), n, lim.annotations, "annotations"))
	} else {
		size := 0
		for k, v := range annotations {
			size += len(k) + len(v)
		}
		if size > lim.annotationBytes {
			e := field.TooLong(field.NewPath("metadata", "annotations"), "", lim.annotationBytes)
			e.Detail = fmt.Sprintf("the annotations' keys and values hold %d bytes: %s%s", size, e.Detail, capDetail("annotation bytes"))
			errs = append(errs, e)
		}
	}
	if n := len(obj.GetLabels()); n > MaxLabels {
		errs = append(errs, tooMany(field.NewPath("metadata", "labels"), n, MaxLabels, "labels"))
	}
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		errs = append(errs, ingressLimits(o, lim)...)
	case *corev1.Service:
		if n := len(o.Spec.Ports); n > MaxServicePorts {
			errs = append(errs, tooMany(field.NewPath("spec", "ports"), n, MaxServicePorts, "Service ports"))
		}
	case *corev1.Secret:
		if n := len(o.Data) + len(o.StringData); n > MaxSecretKeys {
			p := field.NewPath("data")
			if len(o.Data) == 0 {
				p = field.NewPath("stringData")
			}
			errs = append(errs, tooMany(p, n, MaxSecretKeys, "Secret keys (data and stringData together)"))
		}
	}
	return errs
}

// ingressLimits are the Ingress's caps. Beyond the rules or TLS entries
// caps, their items are not looked at: one denial says it all, and the count
// of items is what costs.
func ingressLimits(ing *networkingv1.Ingress, lim limits) field.ErrorList {
	var errs field.ErrorList
	if n := len(ing.Spec.Rules); n > MaxIngressRules {
		errs = append(errs, tooMany(field.NewPath("spec", "rules"), n, MaxIngressRules, "Ingress rules"))
	} else {
		for i := range ing.Spec.Rules {
			if h := ing.Spec.Rules[i].HTTP; h != nil && len(h.Paths) > MaxIngressPaths {
				errs = append(errs, tooMany(field.NewPath("spec", "rules").Index(i).Child("http", "paths"), len(h.Paths), MaxIngressPaths, "paths per Ingress rule"))
			}
		}
	}
	if n := len(ing.Spec.TLS); n > lim.tls {
		errs = append(errs, tooMany(field.NewPath("spec", "tls"), n, lim.tls, "Ingress TLS entries"))
	} else {
		for i := range ing.Spec.TLS {
			if n := len(ing.Spec.TLS[i].Hosts); n > lim.tlsHosts {
				errs = append(errs, tooMany(field.NewPath("spec", "tls").Index(i).Child("hosts"), n, lim.tlsHosts, "hosts per Ingress TLS entry"))
			}
		}
	}
	return errs
}
