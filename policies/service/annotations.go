package service

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/text"
)

// Annotations and labels devgate reads or writes for Service endpoints. The
// controller and the CLI use these names; they are part of the product
// contract (SPEC 2).
const (
	// AnnotationAutoIngress asks for an endpoint: "true", "private" or "false".
	AnnotationAutoIngress = "dev.okteto.com/auto-ingress"
	// AnnotationEndpoint is written by the mutation: the URL of the endpoint.
	AnnotationEndpoint = "devgate.dev/endpoint"

	// AutoIngressTrue asks for a public HTTPS endpoint.
	AutoIngressTrue = "true"
	// AutoIngressPrivate asks for a private HTTPS endpoint (SPEC 4).
	AutoIngressPrivate = "private"
	// AutoIngressFalse asks for no endpoint, and opts out of the conversion of
	// LoadBalancer and NodePort Services.
	AutoIngressFalse = "false"

	// LabelManagedBy and ManagedByValue mark the Ingresses the controller owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "devgate"
)

// autoIngressValues are the valid values of AnnotationAutoIngress, for messages.
var autoIngressValues = []string{AutoIngressTrue, AutoIngressPrivate, AutoIngressFalse}

// annotationPath is the field path of annotation key.
func annotationPath(key string) *field.Path {
	return field.NewPath("metadata", "annotations").Key(key)
}

// shown is v as quoted in a denial (text.Shown): cut, on a character
// boundary, when it is long.
func shown(v string) string { return text.Shown(v) }
