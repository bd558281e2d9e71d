// Package gatewayapi tests devgate in HTTPRoute mode (endpoints.kind:
// httproute) through a real API server with Gateway API's experimental CRDs:
// Services get HTTPRoutes, tenants' HTTPRoutes are confined to their
// hostnames and the platform's Gateway, private routes get the ExternalAuth
// filter and the auth Service its ReferenceGrant. No Gateway data plane runs:
// the API server's validation of the CRDs is the judge of what is written.
package gatewayapi

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/internal/devenv"
	"devgate.dev/devgate/test/kubetest"
)

var (
	env *devenv.Env
	cl  client.Client
)

// routesConfig is HTTPRoute mode: the platform's Gateway gateways/public,
// the auth Service devgate/devgate-auth.
const routesConfig = `apiVersion: devgate.dev/v1alpha1
kind: Config
domain: okteto.example.com
endpoints:
  kind: httproute
  gateway: {namespace: gateways, name: public}
  authService: {namespace: devgate, name: devgate-auth}
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	suite, err := kubetest.StartSuite("gatewayapi", routesConfig, devenv.Options{AuthBindAddress: "127.0.0.1:0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer suite.Stop()
	env = suite.Env
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := gatewayv1.Install(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if cl, err = client.New(env.ControlPlane.Config, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return kubetest.MustKubectl(t, env.ControlPlane, stdin, args...)
}

func mustFail(t *testing.T, stdin string, want []string, args ...string) string {
	t.Helper()
	return kubetest.MustFail(t, env.ControlPlane, stdin, want, args...)
}

func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kubetest.Eventually(t, timeout, 100*time.Millisecond, check)
}

// namespace creates a fresh namespace in which alice may edit HTTPRoutes and
// Services (the built-in edit role does not cover Gateway API's resources),
// and deletes it when the test ends.
func namespace(t *testing.T, name string) string {
	t.Helper()
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: httproute-editor}
rules:
- {apiGroups: [gateway.networking.k8s.io], resources: [httproutes], verbs: ["*"]}
- {apiGroups: [""], resources: [services], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: %[1]s}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: httproute-editor, apiGroup: rbac.authorization.k8s.io}
`, name), "apply", "-f", "-")
	t.Cleanup(func() {
		kubetest.Kubectl(t, env.ControlPlane, "", "delete", "namespace", name, "--wait=false")
	})
	return name
}

func getRoute(t *testing.T, ns, name string) (*gatewayv1.HTTPRoute, error) {
	t.Helper()
	var route gatewayv1.HTTPRoute
	err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &route)
	return &route, err
}
