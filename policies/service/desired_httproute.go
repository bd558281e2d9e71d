package service

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/httproute"
)

// DesiredHTTPRoute is the HTTPRoute the controller owns for svc when
// endpoints.kind is httproute: named after the Service in its namespace,
// labelled managed-by devgate, the endpoint host as its one hostname, and one
// rule, path "/" (PathPrefix), to the endpoint port; attached to the
// configured Gateway, and behind the ExternalAuth filter when private.
//
// It is (nil, nil) and (nil, err) exactly as DesiredIngress is. Like the
// Ingress, it has been through the HTTPRoute mutation, so it is a fixed
// point of the mutating webhook.
func DesiredHTTPRoute(svc *corev1.Service, cfg *config.Config) (*gatewayv1.HTTPRoute, error) {
	ep, err := EndpointFor(svc, cfg)
	if ep == nil {
		return nil, err
	}
	prefix := gatewayv1.PathMatchPathPrefix
	root := "/"
	port := ep.Port.Port
	route := &gatewayv1.HTTPRoute{
		TypeMeta: metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            svc.Name,
			Namespace:       svc.Namespace,
			Labels:          map[string]string{LabelManagedBy: ManagedByValue},
			OwnerReferences: ownerReferences(svc),
		},
		Spec: gatewayv1.HTTPRouteSpec{
			Hostnames: []gatewayv1.Hostname{gatewayv1.Hostname(ep.Host)},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: &prefix, Value: &root}}},
				// By number, as on the Ingress: a Gateway names a Service
				// port only by number.
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(svc.Name), Port: &port},
				}}},
			}},
		},
	}
	if ep.Private {
		route.Annotations = map[string]string{httproute.AnnotationPrivate: httproute.PrivateTrue}
	}
	// parentRefs, the ExternalAuth filter and devgate.dev/endpoints come
	// from the HTTPRoute mutation itself, so the two can never disagree.
	httproute.Mutate(route, cfg)
	return route, nil
}
