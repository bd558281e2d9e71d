package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Kinds of the objects that make a Service's endpoint (endpoints.kind).
const (
	// EndpointsKindIngress: the controller generates Ingresses, served by
	// ingress-nginx. The default.
	EndpointsKindIngress = "ingress"
	// EndpointsKindHTTPRoute: the controller generates Gateway API HTTPRoutes
	// attached to endpoints.gateway, and the webhooks also receive tenants'
	// HTTPRoutes.
	EndpointsKindHTTPRoute = "httproute"
)

// Defaults of endpoints.authService.
const (
	// DefaultAuthServicePort is the port of the auth Service the chart
	// installs.
	DefaultAuthServicePort = 80
	// DefaultAuthVerifyPath is the auth service's verification route, the
	// path of privateEndpoints.authURL's default.
	DefaultAuthVerifyPath = "/auth/verify"
)

// Endpoints says what a Service endpoint is made of, and, in HTTPRoute mode,
// where HTTPRoutes attach and how their private endpoints reach the auth
// service.
type Endpoints struct {
	// Kind is EndpointsKindIngress (default) or EndpointsKindHTTPRoute.
	Kind string `json:"kind,omitempty"`
	// Gateway is the platform's Gateway: HTTPRoutes without parentRefs get
	// it, and tenants may attach to no other. Required in HTTPRoute mode.
	Gateway GatewayRef `json:"gateway"`
	// AuthService is the backend of the ExternalAuth filter of private
	// HTTPRoutes: the auth service's Service. Its namespace and name are
	// required in HTTPRoute mode.
	AuthService AuthServiceRef `json:"authService"`
}

// GatewayRef names the Gateway HTTPRoutes attach to.
type GatewayRef struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// SectionName, when set, is the one listener of the Gateway that
	// HTTPRoutes attach to; a parentRef must then name it.
	SectionName string `json:"sectionName,omitempty"`
}

// AuthServiceRef is the auth service's Service as an ExternalAuth filter's
// backendRef reaches it: directly, not through privateEndpoints.authURL.
type AuthServiceRef struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Port of the Service [DefaultAuthServicePort].
	Port int32 `json:"port,omitempty"`
	// VerifyPath is the auth service's verification route
	// [DefaultAuthVerifyPath]; the filter's http.path is VerifyPath + "/" +
	// the route's namespace, so the namespace cannot be chosen per request.
	VerifyPath string `json:"verifyPath,omitempty"`
}

// HTTPRoutes reports whether Service endpoints are HTTPRoutes
// (endpoints.kind: httproute): the webhooks then also handle tenants'
// HTTPRoutes.
func (c *Config) HTTPRoutes() bool { return c.Endpoints.Kind == EndpointsKindHTTPRoute }

// ExternalAuthPath is the http.path of the ExternalAuth filter of a private
// HTTPRoute in namespace: endpoints.authService.verifyPath + "/" + namespace.
// The Gateway adds the request's path after it, so the auth service reads the
// namespace from the first segment after its route.
func (c *Config) ExternalAuthPath(namespace string) string {
	p := c.Endpoints.AuthService.VerifyPath
	if p == "" {
		p = DefaultAuthVerifyPath
	}
	return p + "/" + namespace
}

// setDefaults fills endpoints.kind and the auth service's port and path.
func (e *Endpoints) setDefaults() {
	if e.Kind == "" {
		e.Kind = EndpointsKindIngress
	}
	if e.AuthService.Port == 0 {
		e.AuthService.Port = DefaultAuthServicePort
	}
	if e.AuthService.VerifyPath == "" {
		e.AuthService.VerifyPath = DefaultAuthVerifyPath
	}
}

// httpPathValue is the pattern of Gateway API's HTTPAuthConfig.path (and of
// path match values): the filter's path must pass the CRD's validation.
var httpPathValue = regexp.MustCompile(`^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$`)

// maxExternalAuthPath is the CRD's bound on HTTPAuthConfig.path.
const maxExternalAuthPath = 1024

// validate reports every invalid endpoints value under p.
func (e *Endpoints) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	kinds := []string{EndpointsKindIngress, EndpointsKindHTTPRoute}
	if !slices.Contains(kinds, e.Kind) {
		errs = append(errs, field.NotSupported(p.Child("kind"), e.Kind, kinds))
	}
	routes := e.Kind == EndpointsKindHTTPRoute

	gw, g := p.Child("gateway"), e.Gateway
	// A partial Gateway reference is a mistake in any mode.
	needGateway := routes || g != GatewayRef{}
	errs = append(errs, requiredName(gw.Child("namespace"), g.Namespace, needGateway, "the namespace of the platform's Gateway", validation.IsDNS1123Label)...)
	errs = append(errs, requiredName(gw.Child("name"), g.Name, needGateway, "the name of the platform's Gateway that HTTPRoutes attach to", validation.IsDNS1123Subdomain)...)
	errs = append(errs, requiredName(gw.Child("sectionName"), g.SectionName, false, "", validation.IsDNS1123Subdomain)...)

	as, a := p.Child("authService"), e.AuthService
	needAuth := routes || a.Namespace != "" || a.Name != ""
	errs = append(errs, requiredName(as.Child("namespace"), a.Namespace, needAuth, "the namespace of the auth service's Service, the backend of private HTTPRoutes' ExternalAuth filter", validation.IsDNS1123Label)...)
	errs = append(errs, requiredName(as.Child("name"), a.Name, needAuth, "the auth service's Service, the backend of private HTTPRoutes' ExternalAuth filter", validation.IsDNS1035Label)...)
	if a.Port < 1 || a.Port > 65535 {
		errs = append(errs, field.Invalid(as.Child("port"), a.Port, "must be a port number between 1 and 65535"))
	}
	if msg := verifyPathProblem(a.VerifyPath); msg != "" {
		errs = append(errs, field.Invalid(as.Child("verifyPath"), a.VerifyPath, msg))
	}
	return errs
}

// requiredName checks one name of a reference: required when need is set
// (what says what it names), and of the form check accepts when given.
func requiredName(p *field.Path, v string, need bool, what string, check func(string) []string) field.ErrorList {
	if v == "" {
		if need {
			return field.ErrorList{field.Required(p, what+" (endpoints.kind: httproute, or another field of the reference is set)")}
		}
		return nil
	}
	var errs field.ErrorList
	for _, msg := range check(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// verifyPathProblem says why path cannot prefix the ExternalAuth filter's
// http.path, or "" when it can: it must be an absolute path without a
// trailing slash that, followed by "/" and the longest namespace, is a valid
// Gateway API HTTPAuthConfig path.
func verifyPathProblem(path string) string {
	longest := path + "/" + strings.Repeat("n", validation.DNS1123LabelMaxLength)
	switch {
	case !strings.HasPrefix(path, "/"):
		return "must be an absolute path such as " + DefaultAuthVerifyPath
	case strings.HasSuffix(path, "/"):
		return "must not end with a slash: devgate appends /<namespace>"
	case strings.ContainsAny(path, "?#"):
		return "must be a path without query or fragment"
	case !httpPathValue.MatchString(path):
		return "must hold only the characters of a Gateway API HTTPAuthConfig path (unreserved, sub-delims, ':', '@', '/' or %-escapes)"
	case len(longest) > maxExternalAuthPath:
		return fmt.Sprintf("is too long: with /<namespace> it must fit in %d characters", maxExternalAuthPath)
	}
	return ""
}
