package service

import (
	corev1 "k8s.io/api/core/v1"
)

// loadBalanced reports whether svc is exposed outside the cluster by type: a
// LoadBalancer or NodePort Service, which convertLoadBalancedServices turns
// into an endpoint.
func loadBalanced(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort
}

// convertToClusterIP makes svc a ClusterIP Service, clearing every field the
// API server rejects on one (or that would otherwise outlive the type): the
// node ports, the load balancer settings and the external traffic policy.
func convertToClusterIP(svc *corev1.Service) {
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	svc.Spec.LoadBalancerIP = ""
	svc.Spec.LoadBalancerSourceRanges = nil
	svc.Spec.LoadBalancerClass = nil
	svc.Spec.ExternalTrafficPolicy = ""
	svc.Spec.HealthCheckNodePort = 0
	svc.Spec.AllocateLoadBalancerNodePorts = nil
}
