package service

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// httpAppProtocols are the appProtocols ingress-nginx can proxy as HTTP (SPEC 2).
var httpAppProtocols = []string{"http", "https", "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss"}

// nonHTTPNamePrefixes mark a port as not HTTP by convention (Istio's port
// naming), whatever its appProtocol says.
var nonHTTPNamePrefixes = []string{"grpc", "tcp", "udp"}

// HTTPPort is the port of svc its endpoint serves: the first HTTP port, or nil.
func HTTPPort(svc *corev1.Service) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if isHTTPPort(&svc.Spec.Ports[i]) {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// isHTTPPort: a TCP port (protocol TCP or unset) whose appProtocol is unset or
// one of httpAppProtocols, and whose name does not start with grpc, tcp or udp.
// appProtocol is compared without case: "HTTP" means http to everyone.
func isHTTPPort(p *corev1.ServicePort) bool {
	if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
		return false
	}
	name := strings.ToLower(p.Name)
	for _, prefix := range nonHTTPNamePrefixes {
		if strings.HasPrefix(name, prefix) {
			return false
		}
	}
	if p.AppProtocol == nil {
		return true
	}
	for _, ap := range httpAppProtocols {
		if strings.EqualFold(*p.AppProtocol, ap) {
			return true
		}
	}
	return false
}

// BackendProtocol is the ingress-nginx backend-protocol an endpoint on port p
// needs: "HTTPS" when the port speaks TLS (appProtocol https, or
// kubernetes.io/wss, WebSocket over TLS), "" for plain HTTP.
func BackendProtocol(p *corev1.ServicePort) string {
	if p.AppProtocol != nil && (strings.EqualFold(*p.AppProtocol, "https") || strings.EqualFold(*p.AppProtocol, "kubernetes.io/wss")) {
		return "HTTPS"
	}
	return ""
}

// describePorts lists the ports of svc for a denial: "53/UDP (dns), 9000/TCP (grpc-api)".
func describePorts(svc *corev1.Service) string {
	var parts []string
	for _, p := range svc.Spec.Ports {
		s := fmt.Sprintf("%d", p.Port)
		if p.Protocol != "" {
			s += "/" + string(p.Protocol)
		}
		var about []string
		if p.Name != "" {
			about = append(about, "name "+p.Name)
		}
		if p.AppProtocol != nil {
			about = append(about, "appProtocol "+*p.AppProtocol)
		}
		if len(about) > 0 {
			s += " (" + strings.Join(about, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
