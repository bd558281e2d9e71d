package service

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
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

// maxShownValue bounds the values quoted in denials: an annotation value can be
// up to 256 KiB and the message must stay readable.
const maxShownValue = 200

// shown is v as quoted in a denial, cut to maxShownValue bytes.
func shown(v string) string {
	if len(v) <= maxShownValue {
		return v
	}
	return fmt.Sprintf("%s... (%d bytes)", v[:maxShownValue], len(v))
}
