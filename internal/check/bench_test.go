package check

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"devgate.dev/devgate/policies/all"
)

// benchObjects writes n manifests, a quarter of each kind the real policies
// handle: Services with auto-ingress, Ingresses with generate-host and
// private, token Secrets and ServiceAccounts with token labels.
func benchObjects(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%50)
		switch i % 4 {
		case 0:
			mode := []string{"true", "private"}[i/4%2]
			fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata:
  name: svc-%d
  namespace: %s
  labels: {app: web}
  annotations:
    dev.okteto.com/auto-ingress: %q
spec:
  selector: {app: web}
  ports:
  - name: grpc
    port: 9090
  - name: http
    port: 8080
    targetPort: 8080
    protocol: TCP
`, i, ns, mode)
		case 1:
			fmt.Fprintf(&b, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing-%d
  namespace: %s
  annotations:
    dev.okteto.com/generate-host: "true"
    dev.okteto.com/private: "%t"
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc
            port: {number: 8080}
`, i, ns, i/4%2 == 0)
		case 2:
			fmt.Fprintf(&b, `apiVersion: v1
kind: Secret
metadata:
  name: token-%d
  namespace: %s
type: devgate.dev/token
stringData:
  token: Zq3vT8pL0mX5rW2k-%d
  user-id: devgate-cli
  ttl: "86400000"
  description: CI token
`, i, ns, i)
		case 3:
			fmt.Fprintf(&b, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa-%d
  namespace: %s
  labels:
    dev.okteto.com/token: Hj4kLm9Np2Qr5St8-%d
    dev.okteto.com/external-id: user-%d
`, i, ns, i, i)
		}
		b.WriteString("---\n")
	}
	return b.Bytes()
}

// BenchmarkCheck10k checks 10,000 mixed objects with the real policies, from
// reading the stream to writing each output format.
func BenchmarkCheck10k(b *testing.B) {
	data := benchObjects(10000)
	eng := all.Engine()
	if len(eng.Policies()) == 0 {
		b.Log("policies/all has no policy yet: this measures reading and rendering only")
	}
	for _, output := range []string{OutputText, OutputJSON, OutputYAML} {
		b.Run(output, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				report, err := Run(Options{
					Filenames: []string{"-"},
					Stdin:     bytes.NewReader(data),
					Engine:    eng,
					Output:    output,
					User:      authenticationv1.UserInfo{Username: "token-issuer", Groups: []string{"system:masters"}},
					Stdout:    io.Discard,
				})
				if err != nil {
					b.Fatal(err)
				}
				if report.Summary.Objects != 10000 {
					b.Fatalf("%d objects", report.Summary.Objects)
				}
			}
		})
	}
}
