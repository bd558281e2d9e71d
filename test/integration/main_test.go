// Package integration tests devgate through a real kube-apiserver: the local
// control plane of `devgate dev` (etcd, kube-apiserver, kube-controller-manager)
// with devgate's webhooks registered by URL and its server in-process. Every
// test drives it the way users do, with kubectl.
package integration

import (
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/internal/devenv"
	"devgate.dev/devgate/test/kubetest"
)

var (
	env        *devenv.Env
	clientset  *kubernetes.Clientset
	configPath string
)

const baseConfig = `apiVersion: devgate.dev/v1alpha1
kind: Config
domain: okteto.example.com
ingressClassName: nginx
tokens:
  issuers: [token-issuer]
  guardedSecrets:
  - {namespace: keptn, name: keptn-api-token, key: keptn-api-token}
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	suite, err := kubetest.StartSuite("integration", baseConfig, devenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer suite.Stop()
	env, configPath = suite.Env, suite.ConfigPath
	clientset = kubernetes.NewForConfigOrDie(env.ControlPlane.Config)
	return m.Run()
}

// kubectl runs kubectl as the admin with stdin, and returns stdout, stderr and
// whether it succeeded.
func kubectl(t *testing.T, stdin string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	return kubetest.Kubectl(t, env.ControlPlane, stdin, args...)
}

// mustKubectl fails the test when kubectl fails.
func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return kubetest.MustKubectl(t, env.ControlPlane, stdin, args...)
}

// mustFail fails the test unless kubectl fails with every wanted fragment in
// its error output; it returns that output.
func mustFail(t *testing.T, stdin string, want []string, args ...string) string {
	t.Helper()
	return kubetest.MustFail(t, env.ControlPlane, stdin, want, args...)
}

// namespace creates a fresh namespace for one test, with alice, bob and the
// token issuer as editors, and deletes it when the test ends.
func namespace(t *testing.T, name string) string {
	t.Helper()
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: %[1]s}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
- {kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}
- {kind: User, name: token-issuer, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}
`, name), "apply", "-f", "-")
	t.Cleanup(func() {
		kubectl(t, "", "delete", "namespace", name, "--wait=false")
	})
	return name
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kubetest.Eventually(t, timeout, 100*time.Millisecond, check)
}
