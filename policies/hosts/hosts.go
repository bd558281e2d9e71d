// Package hosts builds and checks the hostnames of devgate endpoints (SPEC 2, 3).
//
// Every endpoint lives in one DNS label under the platform's wildcard domain:
// `<name>-<namespace>.<domain>` or `<namespace>.<domain>`. One label, because the
// wildcard certificate `*.<domain>` covers exactly one; the namespace as its
// suffix, because that is what keeps a tenant inside its own names. The Service
// and Ingress policies, the controller and the CLI all build hosts here so they
// agree on every name.
package hosts

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxLabelLength is the longest DNS label (RFC 1035), and so the longest first
// label of an endpoint host.
const MaxLabelLength = validation.DNS1123LabelMaxLength

// Label is the first label of the endpoint named name in namespace:
// `<name>-<namespace>`, or `<namespace>` when name is empty.
func Label(name, namespace string) string {
	if name == "" {
		return namespace
	}
	return name + "-" + namespace
}

// Host is label under domain.
func Host(label, domain string) string { return label + "." + domain }

// For is Host(Label(name, namespace), domain), built in one allocation instead
// of two: the policies build it on every review.
func For(name, namespace, domain string) string {
	if name == "" {
		return namespace + "." + domain
	}
	return name + "-" + namespace + "." + domain
}

// LabelFits reports whether Label(name, namespace) fits in one DNS label
// (LabelTooLong would return ""), without building the label.
func LabelFits(name, namespace string) bool {
	n := len(namespace)
	if name != "" {
		n += len(name) + len("-")
	}
	return n <= MaxLabelLength
}

// URLPrefix is what URL puts before a host.
const URLPrefix = "https://"

// URL is the address devgate records for host: endpoints are always HTTPS.
func URL(host string) string { return URLPrefix + host }

// RecordEndpoints writes the devgate.dev/endpoints annotation key: the URL
// of every host of hs, comma separated, in order. Without hosts the
// annotation is removed, so it never outlives the hosts it names. The map is
// created when needed.
func RecordEndpoints(annotations *map[string]string, key string, hs []string) {
	if len(hs) == 0 {
		delete(*annotations, key)
		return
	}
	if *annotations == nil {
		*annotations = map[string]string{}
	}
	(*annotations)[key] = joinURLs(hs)
}

// joinURLs is the URL of every host of hs, comma separated, built in a
// single allocation.
func joinURLs(hs []string) string {
	n := len(hs) - 1 // commas
	for _, h := range hs {
		n += len(URLPrefix) + len(h)
	}
	var b strings.Builder
	b.Grow(n)
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(URLPrefix)
		b.WriteString(h)
	}
	return b.String()
}

// Pattern describes the hosts namespace may use, for messages:
// `<name>-alice.okteto.example.com or alice.okteto.example.com`.
func Pattern(namespace, domain string) string {
	return fmt.Sprintf("<name>-%s or %s", Host(namespace, domain), Host(namespace, domain))
}

// LabelTooLong explains why label cannot be the first label of a host: it says
// how long it is. It returns "" when label fits.
func LabelTooLong(label string) string {
	if len(label) <= MaxLabelLength {
		return ""
	}
	return fmt.Sprintf("the first label %q is %d characters long, at most %d are allowed (the wildcard certificate covers exactly one DNS label)",
		label, len(label), MaxLabelLength)
}

// Check reports why host may not be used by an Ingress in namespace, or nil
// when it may. The error says only what is wrong; callers add Pattern.
func Check(host, namespace, domain string) error {
	suffix := "." + domain
	switch {
	case host == "":
		return fmt.Errorf("the host is empty")
	case strings.Contains(host, "*"):
		return fmt.Errorf("wildcard hosts are not allowed")
	case strings.HasSuffix(host, "."):
		return fmt.Errorf("the host must not end with a dot")
	case !isASCII(host):
		return fmt.Errorf("internationalized (non-ASCII) hosts are not allowed")
	case host != strings.ToLower(host):
		return fmt.Errorf("the host must be lower case")
	case host == domain:
		return fmt.Errorf("the bare domain %s belongs to the platform", domain)
	case !strings.HasSuffix(host, suffix):
		return fmt.Errorf("the host is not under the domain %s", domain)
	}
	label := strings.TrimSuffix(host, suffix)
	if strings.Contains(label, ".") {
		return fmt.Errorf("only one label may precede %s (the wildcard certificate *.%s covers exactly one)", domain, domain)
	}
	if msg := LabelTooLong(label); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	// The regular expression behind IsDNS1123Label is the slowest step of a
	// review's host checks: it runs only for the message of a label that fails
	// the plain loop of isDNSLabel.
	if !isDNSLabel(label) {
		if errs := validation.IsDNS1123Label(label); len(errs) > 0 {
			return fmt.Errorf("the first label %q is not a DNS label: %s", label, strings.Join(errs, "; "))
		}
	}
	if label != namespace && !strings.HasSuffix(label, "-"+namespace) {
		return fmt.Errorf("the first label %q does not end with the namespace %q", label, namespace)
	}
	if err := checkALabel(label); err != nil && label != namespace {
		return err
	}
	return nil
}

// checkALabel denies a punycode label ("xn--...") that does not decode to a
// valid internationalized label: browsers would show it as garbage or refuse it.
func checkALabel(label string) error {
	if !strings.HasPrefix(label, "xn--") {
		return nil
	}
	// The label must decode, and encode back to itself: anything else is not
	// the canonical form of an internationalized name.
	u, err := idna.Registration.ToUnicode(label)
	if err == nil {
		var back string
		back, err = idna.Registration.ToASCII(u)
		if err == nil && back != label {
			err = fmt.Errorf("not canonical")
		}
	}
	if err != nil {
		return fmt.Errorf("the first label %q is not valid punycode (an xn-- label must encode a valid internationalized name)", label)
	}
	return nil
}

// isDNSLabel is validation.IsDNS1123Label(s) == nil without a regular
// expression: 1 to 63 of [a-z0-9-], starting and ending with [a-z0-9].
// FuzzIsDNSLabel holds it to IsDNS1123Label.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > MaxLabelLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Shorten says what to shorten so that Label(name, namespace) fits in one DNS
// label; what names the name for the reader ("the Service name"). It returns ""
// when the label already fits.
func Shorten(what, name, namespace string) string {
	over := len(Label(name, namespace)) - MaxLabelLength
	switch {
	case over <= 0:
		return ""
	case len(name) > over:
		return fmt.Sprintf("shorten %s %q by at least %d characters (to at most %d)", what, name, over, len(name)-over)
	default:
		return fmt.Sprintf("the namespace %q (%d characters) leaves no room for %s: shorten the namespace", namespace, len(namespace), what)
	}
}
