package ingress

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/text"
)

// Annotations devgate reads or writes on Ingresses. The controller and the CLI
// use these names; they are part of the product contract (SPEC 3, 4).
const (
	// AnnotationGenerateHost asks devgate to pick the host: "true", "domain" or a
	// DNS label such as "api" (SPEC 3).
	AnnotationGenerateHost = "dev.okteto.com/generate-host"
	// AnnotationPrivate makes the Ingress a private endpoint: "true" or "false" (SPEC 4).
	AnnotationPrivate = "dev.okteto.com/private"
	// AnnotationEndpoints is written by the mutation: the endpoint URLs, comma separated.
	AnnotationEndpoints = "devgate.dev/endpoints"

	// GenerateHostTrue generates `<ingress-name>-<namespace>.<domain>`.
	GenerateHostTrue = "true"
	// GenerateHostDomain generates `<namespace>.<domain>`.
	GenerateHostDomain = "domain"
	// generateHostOff is accepted as "not set": a platform engineer reads
	// generate-host: "false" as "do not generate", not as the label "false".
	generateHostOff = "false"

	// NginxPrefix is the prefix of every ingress-nginx annotation.
	NginxPrefix = "nginx.ingress.kubernetes.io/"
	// The ingress-nginx external-auth annotations of a private endpoint.
	AnnotationAuthURL             = NginxPrefix + "auth-url"
	AnnotationAuthSignin          = NginxPrefix + "auth-signin"
	AnnotationAuthResponseHeaders = NginxPrefix + "auth-response-headers"
	// authPrefix covers every ingress-nginx authentication annotation.
	authPrefix = NginxPrefix + "auth-"
	// AnnotationSatisfy ("any") would let a request in without authentication.
	AnnotationSatisfy = NginxPrefix + "satisfy"
	// AnnotationEnableGlobalAuth "false" turns the controller's global auth off.
	AnnotationEnableGlobalAuth = NginxPrefix + "enable-global-auth"
	// AnnotationBackendProtocol tells ingress-nginx how to talk to the backend.
	AnnotationBackendProtocol = NginxPrefix + "backend-protocol"

	// AnnotationClusterIssuer asks cert-manager for a certificate (cert-manager mode).
	AnnotationClusterIssuer = cmapi.IngressClusterIssuerNameAnnotationKey
)

// annotationPath is the field path of annotation key.
func annotationPath(key string) *field.Path {
	return field.NewPath("metadata", "annotations").Key(key)
}

// shown is v as quoted in a denial (text.Shown): cut, on a character
// boundary, when it is long.
func shown(v string) string { return text.Shown(v) }

// setAnnotation sets key on the object's annotations, creating the map.
func setAnnotation(annotations *map[string]string, key, value string) {
	if *annotations == nil {
		*annotations = map[string]string{}
	}
	(*annotations)[key] = value
}
