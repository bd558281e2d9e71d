package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/test/kubetest"
)

// helm runs the helm binary against the control plane, with its cache,
// configuration and data under the suite's directory, not the user's home.
func (s *suite) helm(ctx context.Context, kubeconfig string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.helmBin, append(args, "--kubeconfig", kubeconfig)...)
	home := filepath.Join(s.dir, "helm")
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// mustHelm runs helm as the admin and fails the test on error.
func mustHelm(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := s.helm(ctx, s.env.KubeconfigPath(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kubectl runs kubectl as the admin with stdin; it returns stdout, stderr and
// whether it succeeded.
func kubectl(t *testing.T, stdin string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	return kubetest.Kubectl(t, s.env.ControlPlane, stdin, args...)
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return kubetest.MustKubectl(t, s.env.ControlPlane, stdin, args...)
}

// mustDeny fails the test unless kubectl is denied with every wanted fragment
// in its error output.
func mustDeny(t *testing.T, stdin string, want []string, args ...string) {
	t.Helper()
	kubetest.MustFail(t, s.env.ControlPlane, stdin, want, args...)
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kubetest.Eventually(t, timeout, 200*time.Millisecond, check)
}

// syncConfigMap plays the kubelet's part for a devgate running outside the
// cluster: it keeps the file devgate reads equal to data[config.yaml] of the
// release's ConfigMap, as the chart's ConfigMap volume does in a pod, and
// replaces it atomically as the kubelet does.
func syncConfigMap(ctx context.Context, cs kubernetes.Interface, namespace, name, path string) {
	for {
		cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			want := []byte(cm.Data["config.yaml"])
			if have, _ := os.ReadFile(path); len(want) > 0 && !bytes.Equal(have, want) {
				tmp := path + ".tmp"
				if os.WriteFile(tmp, want, 0o600) == nil {
					_ = os.Rename(tmp, path)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitForChartWebhooks sends server-side dry runs until one comes back
// mutated by devgate: the API server reaches it through the webhook
// configurations the chart installed.
func waitForChartWebhooks(ctx context.Context) error {
	probe := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default",
			Annotations: map[string]string{"dev.okteto.com/auto-ingress": "true"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	deadline := time.Now().Add(time.Minute)
	var lastErr error
	for time.Now().Before(deadline) {
		got, err := s.clientset.CoreV1().Services("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Annotations["devgate.dev/endpoint"] != "" {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("no dry run through the chart's webhooks reached devgate within a minute (last error: %v)", lastErr)
}
