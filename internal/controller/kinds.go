package controller

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// endpointKind is what differs between the two objects that can make a
// Service's endpoint; the reconciler does the same with either.
type endpointKind struct {
	name      string
	gvk       schema.GroupVersionKind
	newObject func() client.Object
	// spec is the object's spec, for comparing before and after an apply.
	spec func(client.Object) any
	// hosts are the endpoint's hosts, for Events.
	hosts func(client.Object) []string
	// gatewayAPI kinds exist only where the cluster serves Gateway API's
	// CRDs (EndpointReconciler.HTTPRoutes).
	gatewayAPI bool
}

var (
	ingressKind = endpointKind{
		name:      "Ingress",
		gvk:       networkingv1.SchemeGroupVersion.WithKind("Ingress"),
		newObject: func() client.Object { return &networkingv1.Ingress{} },
		spec:      func(o client.Object) any { return o.(*networkingv1.Ingress).Spec },
		hosts: func(o client.Object) []string {
			var hosts []string
			for _, rule := range o.(*networkingv1.Ingress).Spec.Rules {
				hosts = append(hosts, rule.Host)
			}
			return hosts
		},
	}
	httpRouteKind = endpointKind{
		name:       "HTTPRoute",
		gvk:        gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"),
		newObject:  func() client.Object { return &gatewayv1.HTTPRoute{} },
		gatewayAPI: true,
		spec:       func(o client.Object) any { return o.(*gatewayv1.HTTPRoute).Spec },
		hosts: func(o client.Object) []string {
			var hosts []string
			for _, h := range o.(*gatewayv1.HTTPRoute).Spec.Hostnames {
				hosts = append(hosts, string(h))
			}
			return hosts
		},
	}
)

// changed reports whether an apply changed what devgate writes: labels,
// annotations, owner references and spec. An apply changes nothing else, and
// a no-op apply may still move the resourceVersion.
func (k endpointKind) changed(before, after client.Object) bool {
	return !equality.Semantic.DeepEqual(before.GetLabels(), after.GetLabels()) ||
		!equality.Semantic.DeepEqual(before.GetAnnotations(), after.GetAnnotations()) ||
		!equality.Semantic.DeepEqual(before.GetOwnerReferences(), after.GetOwnerReferences()) ||
		!equality.Semantic.DeepEqual(k.spec(before), k.spec(after))
}

// urls are the endpoint's URLs, for Events: "https://<host>, ...".
func (k endpointKind) urls(obj client.Object) string {
	var out []string
	for _, host := range k.hosts(obj) {
		out = append(out, "https://"+host)
	}
	if len(out) == 0 {
		return fmt.Sprintf("%s %s", k.name, obj.GetName())
	}
	return strings.Join(out, ", ")
}
