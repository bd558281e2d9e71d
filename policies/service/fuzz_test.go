package service_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/internal/policytest"
	"devgate.dev/devgate/policies/service"
)

// FuzzServiceMutation builds Services of every shape the policy cares about
// and checks that admission never panics, that the mutation is a fixed point
// after one run, and that the Ingress the controller would generate for the
// admitted Service is admitted unchanged by the Ingress webhooks.
func FuzzServiceMutation(f *testing.F) {
	f.Add("web", "alice", "true", true, uint8(0), "", "", "http", int32(80), uint8(0), uint8(0), "", "")
	f.Add("web", "alice", "", false, uint8(1), "TCP", "https", "web", int32(443), uint8(0xff), uint8(1), "", "")
	f.Add("web", "alice", "private", true, uint8(2), "UDP", "", "dns", int32(53), uint8(0x0f), uint8(2), "", "")
	f.Add(repeat("a", 58), "alice", "", false, uint8(2), "", "", "", int32(8080), uint8(0x01), uint8(0), "", "")
	f.Add("web", "alice", "false", true, uint8(1), "", "kubernetes.io/wss", "grpc", int32(9000), uint8(0x10), uint8(3), "", "")
	f.Add("", "alice", "yes", true, uint8(1), "SCTP", "HTTP", "tcp-x", int32(1), uint8(0x20), uint8(0), "", "")
	// ExternalName Services and externalIPs (SPEC 2: no reaching past the namespace).
	f.Add("web", "alice", "true", true, uint8(3), "", "", "http", int32(80), uint8(0), uint8(0), "api.bob.svc.cluster.local", "")
	f.Add("web", "alice", "private", true, uint8(3), "", "", "http", int32(80), uint8(0), uint8(0), "example.com", "")
	f.Add("web", "alice", "", false, uint8(3), "", "", "http", int32(80), uint8(0), uint8(0), "169.254.169.254.", "")
	f.Add("web", "alice", "", false, uint8(3), "", "", "", int32(443), uint8(0), uint8(0), "Kubernetes.Default.SVC", "")
	f.Add("web", "alice", "", false, uint8(3), "", "", "", int32(443), uint8(0), uint8(0), "example.com", "")
	f.Add("web", "alice", "", false, uint8(1), "", "", "http", int32(80), uint8(0x04), uint8(0), "", "10.96.0.1")
	f.Add("web", "alice", "true", true, uint8(0), "", "", "http", int32(80), uint8(0), uint8(3), "", "203.0.113.7")
	f.Fuzz(func(t *testing.T, name, ns, value string, hasAnnotation bool, typ uint8, protocol, appProtocol, portName string, port int32, shape, pick uint8, externalName, externalIP string) {
		if ns == "" {
			ns = "alice" // the engine always has a namespace
		}
		svc := fuzzService(name, ns, value, hasAnnotation, typ, protocol, appProtocol, portName, port, shape)
		svc.Spec.ExternalName = externalName
		if externalIP != "" {
			svc.Spec.ExternalIPs = []string{externalIP}
		}
		raw, err := json.Marshal(svc)
		if err != nil {
			t.Skip()
		}
		cfg := policytest.FuzzConfig(pick)
		in := engine.Input{Operation: policies.Create, Kind: serviceGVK, Namespace: ns, Object: raw}
		out := eng.Admit(in, cfg, nil)
		in.Object = applyPatch(t, raw, out)
		again := eng.Admit(in, cfg, nil)
		if len(again.Patch) != 0 {
			t.Fatalf("not idempotent on %s\nfirst patch %s\nsecond patch %s", raw, mustJSON(out.Patch), mustJSON(again.Patch))
		}
		if !out.Handled || !out.Allowed() {
			return
		}
		mutated := out.Object.(*corev1.Service)
		if len(mutated.Spec.ExternalIPs) > 0 {
			t.Fatalf("admitted externalIPs %q (CVE-2020-8554)", mutated.Spec.ExternalIPs)
		}
		if mutated.Spec.Type == corev1.ServiceTypeExternalName {
			if reachesInside(mutated.Spec.ExternalName) {
				t.Fatalf("admitted ExternalName %q, inside the cluster", mutated.Spec.ExternalName)
			}
			if _, has := mutated.Annotations[service.AnnotationEndpoint]; has {
				t.Fatalf("admitted ExternalName Service with an endpoint: %v", mutated.Annotations)
			}
		}
		if loadBalancedAfter(mutated) && cfg.ConvertLoadBalanced() && mutated.Annotations[service.AnnotationAutoIngress] != service.AutoIngressFalse {
			t.Fatalf("admitted %s without converting it", mutated.Spec.Type)
		}
		ing, err := service.DesiredIngress(mutated, cfg)
		if err != nil {
			t.Fatalf("admitted Service has no possible Ingress: %v", err)
		}
		if ing != nil {
			checkFixedPoint(t, ing, cfg)
		}
	})
}

// reachesInside is a coarse, independent oracle for the names that must never
// be admitted as an ExternalName: addresses net.ParseIP reads, and names under
// .svc, cluster.local or kubernetes.default (the fuzzer's configuration keeps
// the default clusterDomain).
func reachesInside(externalName string) bool {
	n := strings.ToLower(strings.TrimSuffix(externalName, "."))
	return net.ParseIP(n) != nil || strings.HasSuffix(n, ".svc") || strings.HasSuffix(n, ".cluster.local") ||
		n == "kubernetes" || strings.HasPrefix(n, "kubernetes.default")
}

func loadBalancedAfter(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort
}

// fuzzService assembles a Service; each bit of shape switches one feature.
func fuzzService(name, ns, value string, hasAnnotation bool, typ uint8, protocol, appProtocol, portName string, port int32, shape uint8) *corev1.Service {
	bit := func(i uint) bool { return shape&(1<<i) != 0 }
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if hasAnnotation {
		svc.Annotations = map[string]string{service.AnnotationAutoIngress: value}
	}
	if bit(0) {
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[service.AnnotationEndpoint] = "https://stale.example.org"
	}
	svc.Spec.Type = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort, corev1.ServiceTypeExternalName, ""}[typ%5]
	p := corev1.ServicePort{Name: portName, Port: port, Protocol: corev1.Protocol(protocol), TargetPort: intstr.FromInt32(port)}
	if bit(1) {
		p.AppProtocol = &appProtocol
	}
	if bit(2) {
		p.NodePort = 30000 + port%2000
	}
	if !bit(3) {
		svc.Spec.Ports = append(svc.Spec.Ports, p)
	}
	if bit(4) {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "http", Port: 8080, NodePort: 30080})
	}
	if bit(5) {
		svc.Spec.LoadBalancerIP = "10.0.0.1"
		svc.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		class := "example.org/lb"
		svc.Spec.LoadBalancerClass = &class
		svc.Spec.HealthCheckNodePort = 30500
	}
	if bit(6) {
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		yes := true
		svc.Spec.AllocateLoadBalancerNodePorts = &yes
	}
	if bit(7) {
		svc.UID = "1234"
	}
	return svc
}
