package webhook

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/engine"
)

// denialStatus is the answer to a denied review in the API server's own form,
// as apierrors.NewInvalid builds it for built-in validation: reason Invalid,
// code 422, and one details.causes entry per denial with its field, type and
// detail. kubectl prints the causes one per line; tools read them without
// parsing the message. The message stays the full sentence (kind, name,
// namespace, every denial), which is what clients that print only the
// message show. A review stopped at its deadline is a 504 Timeout instead:
// not the object's fault as far as anyone knows.
func denialStatus(kind schema.GroupVersionKind, namespace, name string, denials field.ErrorList, stopped bool) *metav1.Status {
	status := &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnprocessableEntity,
		Reason:  metav1.StatusReasonInvalid,
		Message: engine.DenialMessage(kind.Kind, namespace, name, denials),
		Details: &metav1.StatusDetails{
			Group:  kind.Group,
			Kind:   kind.Kind,
			Name:   name,
			Causes: make([]metav1.StatusCause, 0, len(denials)),
		},
	}
	if stopped {
		status.Code, status.Reason = http.StatusGatewayTimeout, metav1.StatusReasonTimeout
	}
	for _, denial := range denials {
		status.Details.Causes = append(status.Details.Causes, metav1.StatusCause{
			Type:    metav1.CauseType(denial.Type),
			Message: denial.ErrorBody(),
			Field:   denial.Field,
		})
	}
	return status
}
