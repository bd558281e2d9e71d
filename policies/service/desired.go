package service

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
)

// DesiredIngress is the Ingress the controller owns for svc (SPEC 2): named
// after the Service in its namespace, labelled managed-by devgate, one rule
// for the endpoint host with path "/" (Prefix) to the endpoint port, TLS per
// tls.mode and the auth annotations when private.
//
// It is (nil, nil) when svc gets no endpoint, and (nil, err) when its
// annotation asks for one it cannot have (see EndpointFor): in both cases the
// controller should have no Ingress for it.
//
// The Ingress has already been through the Ingress mutation, so it is a fixed
// point of the mutating webhook: what the controller writes is what is stored,
// and comparing the live Ingress with it shows only real drift.
func DesiredIngress(svc *corev1.Service, cfg *config.Config) (*networkingv1.Ingress, error) {
	ep, err := EndpointFor(svc, cfg)
	if ep == nil {
		return nil, err
	}
	// Always by number: a Service port's name need not be a valid Ingress
	// port name (an IANA service name); `kubectl create service clusterip
	// web --tcp=80:8080` names its port "80-8080", which the API server
	// rejects in an Ingress backend.
	backendPort := networkingv1.ServiceBackendPort{Number: ep.Port.Port}
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta: metav1.TypeMeta{APIVersion: networkingv1.SchemeGroupVersion.String(), Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      svc.Name,
			Namespace: svc.Namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedByValue},
		},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: ep.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: svc.Name,
							Port: backendPort,
						}},
					}},
				}},
			}},
		},
	}
	if cfg.IngressClassName != "" {
		class := cfg.IngressClassName
		ing.Spec.IngressClassName = &class
	}
	ing.OwnerReferences = ownerReferences(svc)
	annotations := map[string]string{}
	if proto := BackendProtocol(&ep.Port); proto != "" {
		annotations[ingress.AnnotationBackendProtocol] = proto
	}
	if ep.Private {
		annotations[ingress.AnnotationPrivate] = ingress.PrivateTrue
	}
	if len(annotations) > 0 {
		ing.Annotations = annotations
	}
	// TLS, the auth annotations and devgate.dev/endpoints come from the
	// Ingress mutation itself, so the two can never disagree.
	ingress.Mutate(ing, cfg)
	return ing, nil
}

// ownerReferences makes svc the controller of its generated object, so that
// the object goes with it. An owner reference needs the owner's uid: the
// CLI's Services from manifests have none (nil then), and the controller
// adopts what is applied from them later.
func ownerReferences(svc *corev1.Service) []metav1.OwnerReference {
	if svc.UID == "" {
		return nil
	}
	yes := true
	return []metav1.OwnerReference{{
		APIVersion:         corev1.SchemeGroupVersion.String(),
		Kind:               "Service",
		Name:               svc.Name,
		UID:                svc.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}}
}
