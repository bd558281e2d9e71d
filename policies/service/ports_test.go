package service_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies/service"
)

// TestHTTPPort: SPEC 2, the first HTTP port, one case per rule.
func TestHTTPPort(t *testing.T) {
	ap := func(s string) *string { return &s }
	port := func(name string, number int32, protocol corev1.Protocol, appProtocol *string) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: number, Protocol: protocol, AppProtocol: appProtocol}
	}
	cases := []struct {
		name  string
		ports []corev1.ServicePort
		want  int32 // the chosen port number, 0 for none
	}{
		{"no ports", nil, 0},
		{"protocol unset", []corev1.ServicePort{port("", 80, "", nil)}, 80},
		{"protocol TCP", []corev1.ServicePort{port("", 80, corev1.ProtocolTCP, nil)}, 80},
		{"protocol UDP skipped", []corev1.ServicePort{port("", 53, corev1.ProtocolUDP, nil), port("", 80, "", nil)}, 80},
		{"protocol SCTP skipped", []corev1.ServicePort{port("", 99, corev1.ProtocolSCTP, nil)}, 0},
		{"appProtocol http", []corev1.ServicePort{port("", 80, "", ap("http"))}, 80},
		{"appProtocol https", []corev1.ServicePort{port("", 443, "", ap("https"))}, 443},
		{"appProtocol h2c", []corev1.ServicePort{port("", 80, "", ap("kubernetes.io/h2c"))}, 80},
		{"appProtocol ws", []corev1.ServicePort{port("", 80, "", ap("kubernetes.io/ws"))}, 80},
		{"appProtocol wss", []corev1.ServicePort{port("", 443, "", ap("kubernetes.io/wss"))}, 443},
		{"appProtocol in upper case", []corev1.ServicePort{port("", 80, "", ap("HTTP"))}, 80},
		{"appProtocol grpc skipped", []corev1.ServicePort{port("", 9000, "", ap("grpc")), port("", 80, "", nil)}, 80},
		{"appProtocol of a database skipped", []corev1.ServicePort{port("", 5432, "", ap("postgresql"))}, 0},
		{"appProtocol empty skipped", []corev1.ServicePort{port("", 81, "", ap(""))}, 0},
		{"name grpc skipped", []corev1.ServicePort{port("grpc", 9000, "", nil), port("web", 80, "", nil)}, 80},
		{"name grpc-web skipped", []corev1.ServicePort{port("grpc-web", 9000, "", nil)}, 0},
		{"name tcp- skipped", []corev1.ServicePort{port("tcp-db", 5432, "", nil)}, 0},
		{"name udp- skipped", []corev1.ServicePort{port("udp-dns", 53, "", nil)}, 0},
		{"a name containing grpc later is fine", []corev1.ServicePort{port("http-grpc", 8080, "", nil)}, 8080},
		{"the first of two HTTP ports", []corev1.ServicePort{port("a", 8080, "", nil), port("b", 80, "", nil)}, 8080},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := service.HTTPPort(&corev1.Service{Spec: corev1.ServiceSpec{Ports: c.ports}})
			switch {
			case c.want == 0 && got != nil:
				t.Fatalf("chose %+v, want none", *got)
			case c.want != 0 && (got == nil || got.Port != c.want):
				t.Fatalf("chose %+v, want port %d", got, c.want)
			}
		})
	}
}

func TestBackendProtocol(t *testing.T) {
	for ap, want := range map[string]string{"": "", "http": "", "https": "HTTPS", "HTTPS": "HTTPS", "kubernetes.io/wss": "HTTPS", "kubernetes.io/ws": "", "kubernetes.io/h2c": ""} {
		p := corev1.ServicePort{Port: 80}
		if ap != "" {
			p.AppProtocol = &ap
		}
		if got := service.BackendProtocol(&p); got != want {
			t.Errorf("appProtocol %q: %q, want %q", ap, got, want)
		}
	}
}
