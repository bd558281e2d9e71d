// Package kubetest holds what the tests that drive a real API server share:
// kubectl as the admin of a local control plane, and waiting for a condition.
// The integration tests and the e2e suite both use it.
package kubetest

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"devgate.dev/devgate/internal/controlplane"
)

// Kubectl runs kubectl against cp as its admin with stdin, and returns stdout,
// stderr and whether it succeeded. Failing to run kubectl at all fails the test.
func Kubectl(t testing.TB, cp *controlplane.ControlPlane, stdin string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := cp.Kubectl(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return out.String(), errb.String(), err == nil
}

// MustKubectl is Kubectl that fails the test when kubectl fails.
func MustKubectl(t testing.TB, cp *controlplane.ControlPlane, stdin string, args ...string) string {
	t.Helper()
	out, errOut, ok := Kubectl(t, cp, stdin, args...)
	if !ok {
		t.Fatalf("kubectl %s failed: %s%s", strings.Join(args, " "), out, errOut)
	}
	return out
}

// MustFail fails the test unless kubectl fails with every wanted fragment in
// its error output, which it returns.
func MustFail(t testing.TB, cp *controlplane.ControlPlane, stdin string, want []string, args ...string) string {
	t.Helper()
	out, errOut, ok := Kubectl(t, cp, stdin, args...)
	if ok {
		t.Fatalf("kubectl %s succeeded, want a denial: %s", strings.Join(args, " "), out)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Fatalf("kubectl %s: error %q does not contain %q", strings.Join(args, " "), errOut, w)
		}
	}
	return errOut
}

// Eventually retries check every interval until it returns nil, and fails the
// test with check's last error once timeout has passed.
func Eventually(t testing.TB, timeout, interval time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(interval)
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}
