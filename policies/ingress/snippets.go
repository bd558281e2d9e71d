package ingress

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/config"
)

// cveClass names the vulnerabilities that nginx configuration injection
// through Ingress annotations has produced, for denial messages.
const cveClass = "the configuration-injection class of CVE-2021-25742, CVE-2023-5043, CVE-2025-24514 (auth-url), CVE-2025-1097 (auth-tls-match-cn) and CVE-2025-1098 (mirror-*)"

// injections are the character sequences that let an annotation value escape
// its nginx directive: end it (newline, ";"), open or close a block, start a
// comment that swallows the rest of the line, run a command in Lua/shell
// contexts, or escape or end the quoted string ingress-nginx writes the value
// in (a backslash, a quote). The values devgate injects itself contain none
// of them (PrivateAnnotations: URLs, nginx variables and header names).
var injections = []struct{ seq, name string }{
	{"\n", "a newline"},
	{"\r", "a carriage return"},
	{";", `";"`},
	{"{", `"{"`},
	{"}", `"}"`},
	{"#", `"#"`},
	{"`", "a backtick"},
	{"$(", `"$("`},
	{"\\", "a backslash"},
	{`"`, "a double quote"},
	{"'", "a single quote"},
}

// validateSnippets denies, with denySnippets, every ingress-nginx *-snippet
// annotation and every other ingress-nginx annotation whose value could inject
// configuration (SPEC 3).
func validateSnippets(ing *networkingv1.Ingress, cfg *config.Config) field.ErrorList {
	if !cfg.DenyNginxSnippets() {
		return nil
	}
	var errs field.ErrorList
	denied := func(k, v string) bool { return snippetDenial(k, v) != nil }
	for _, k := range sortedKeysWhere(ing.Annotations, denied) {
		errs = append(errs, snippetDenial(k, ing.Annotations[k]))
	}
	return errs
}

// snippetDenial denies annotation k with value v if it is an ingress-nginx
// snippet or could inject configuration, or returns nil.
func snippetDenial(k, v string) *field.Error {
	// ingress-nginx reads keys case-sensitively; comparing in lower case
	// costs nothing and also catches a controller configured otherwise.
	lk := strings.ToLower(k)
	if !strings.HasPrefix(lk, NginxPrefix) {
		return nil
	}
	if strings.HasSuffix(lk, "-snippet") {
		return field.Forbidden(annotationPath(k), fmt.Sprintf(
			"nginx configuration snippets are not allowed on tenant Ingresses: they inject raw nginx configuration (%s); use the dedicated ingress-nginx annotations instead", cveClass))
	}
	var found []string
	for _, in := range injections {
		if strings.Contains(v, in.seq) {
			found = append(found, in.name)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return field.Invalid(annotationPath(k), shown(v), fmt.Sprintf(
		"contains %s, which can inject nginx configuration (%s): ingress-nginx annotation values must not contain a newline, \";\", \"{\", \"}\", \"#\", a backtick, \"$(\", a backslash or a quote (\" or ')",
		strings.Join(found, ", "), cveClass))
}

// sortedKeysWhere are the keys k of m for which denied(k, m[k]), sorted so
// that denials come in a stable order. An object with nothing to deny, the
// usual case, costs no allocation: no key list is built to be sorted.
func sortedKeysWhere(m map[string]string, denied func(k, v string) bool) []string {
	var keys []string
	for k, v := range m {
		if denied(k, v) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
