package faults

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestWebhookListenerIsTLS12OrLater: TLS 1.3 is negotiated when offered,
// 1.2 is accepted, 1.1 is refused, and plain HTTP on the webhook port gets
// no admission answer.
func TestWebhookListenerIsTLS12OrLater(t *testing.T) {
	c := startCluster(t, false)
	startServer(t, c.serverOptions(logr.Discard()))
	addr := c.webhookAddr()

	versions := []struct {
		max     uint16
		want    uint16
		refused bool
	}{
		{max: tls.VersionTLS13, want: tls.VersionTLS13},
		{max: tls.VersionTLS12, want: tls.VersionTLS12},
		{max: tls.VersionTLS11, refused: true},
		{max: tls.VersionTLS10, refused: true},
	}
	for _, v := range versions {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: v.max})
		if v.refused {
			if err == nil {
				conn.Close()
				t.Errorf("TLS up to %s accepted", tls.VersionName(v.max))
			}
			continue
		}
		if err != nil {
			t.Errorf("TLS up to %s: %v", tls.VersionName(v.max), err)
			continue
		}
		if got := conn.ConnectionState().Version; got != v.want {
			t.Errorf("TLS up to %s negotiated %s", tls.VersionName(v.max), tls.VersionName(got))
		}
		conn.Close()
	}

	// Plain HTTP: Go's TLS server answers 400 before any handler runs.
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the webhook port: %s", resp.Status)
		}
	}
}

// Token values used below: each is unique, so finding one in a log line or
// an answer is a leak.
const (
	weakToken      = "Zq9leakWEAK"
	strongToken    = "Zq9leak-strong-9f8e7d6c5b4a"
	otherToken     = "Zq9leak-other-1a2b3c4d5e6f7g"
	saWeakToken    = "Zq9leakSA"
	clientSecret   = "Zq9leak-client-secret"
	leakMarker     = "Zq9leak"
	tokenUser      = "alice"
	tokenOtherUser = "mallory"
)

// TestSecretsNeverLoggedNorEchoed drives the token policies through the API
// server into denials of every kind, with every log line of devgate kept at
// the highest verbosity, then looks for the token values and the client
// secret in the answers and the logs.
func TestSecretsNeverLoggedNorEchoed(t *testing.T) {
	c := startCluster(t, false)
	logs := &logBuffer{}
	startServer(t, c.serverOptions(logs.logger()))
	c.waitForWebhook(t)
	ns := c.namespace(t, "secrets")
	ctx := context.Background()
	c.grantSecrets(t, ns, tokenUser, tokenOtherUser)
	var answers []string
	warnings := &warningRecorder{}
	alice, mallory := c.as(t, tokenUser, warnings), c.as(t, tokenOtherUser, warnings)

	record := func(what string, err error, wantDenied bool) {
		t.Helper()
		if wantDenied && err == nil {
			t.Errorf("%s: admitted, want a denial", what)
		}
		if !wantDenied && err != nil {
			t.Errorf("%s: %v", what, err)
		}
		if err != nil {
			answers = append(answers, err.Error())
		}
	}
	tokenSecret := func(name, token string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: "devgate.dev/token",
			StringData: map[string]string{"token": token}}
	}

	_, err := alice.CoreV1().Secrets(ns).Create(ctx, tokenSecret("weak", weakToken), metav1.CreateOptions{})
	record("weak token", err, true)
	_, err = alice.CoreV1().Secrets(ns).Create(ctx, tokenSecret("tok", strongToken), metav1.CreateOptions{})
	record("strong token", err, false)
	patch := fmt.Sprintf(`{"stringData":{"token":%q}}`, otherToken)
	_, err = alice.CoreV1().Secrets(ns).Patch(ctx, "tok", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	record("token changed by its owner", err, true)
	_, err = mallory.CoreV1().Secrets(ns).Patch(ctx, "tok", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	record("token changed by another user", err, true)
	err = mallory.CoreV1().Secrets(ns).Delete(ctx, "tok", metav1.DeleteOptions{})
	record("token deleted by another user", err, true)
	_, err = alice.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "oidc", Namespace: ns}, Type: "devgate.dev/oidc-connector",
		// A password in the issuer URL is a secret too: it is masked.
		StringData: map[string]string{"issuer": "http://devgate:" + clientSecret + "@idp.example.org/",
			"client_id": "devgate", "client_secret": clientSecret, "redirect_uri": "not a url"},
	}, metav1.CreateOptions{})
	record("invalid OIDC connector", err, true)
	_, err = alice.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "sa", Namespace: ns, Labels: map[string]string{"dev.okteto.com/token": saWeakToken}}}, metav1.CreateOptions{})
	record("ServiceAccount token label by a non-issuer", err, true)

	if len(answers) < 6 || len(warnings.list()) == 0 {
		t.Fatalf("only %d denials and %d warnings to look at", len(answers), len(warnings.list()))
	}
	answers = append(answers, warnings.list()...)
	for _, a := range answers {
		if strings.Contains(a, leakMarker) {
			t.Errorf("an answer echoes a secret value: %s", a)
		}
	}
	log := logs.String() + globalLogs.String()
	if len(log) == 0 {
		t.Fatal("no log line captured: the scan would prove nothing")
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, leakMarker) {
			t.Errorf("a log line holds a secret value: %s", line)
		}
	}
}

// grantSecrets lets users manage Secrets and ServiceAccounts in ns (the
// aggregated "edit" role needs the controller manager, which these tests do
// not run).
func (c *cluster) grantSecrets(t *testing.T, ns string, users ...string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "secrets", Namespace: ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"*"}}}}
	if _, err := c.cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "secrets", Namespace: ns},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "secrets"}}
	for _, u := range users {
		binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: u})
	}
	if _, err := c.cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// as returns a client that impersonates user and records the warnings of
// its answers.
func (c *cluster) as(t *testing.T, user string, warnings rest.WarningHandler) *kubernetes.Clientset {
	t.Helper()
	cfg := rest.CopyConfig(c.cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	cfg.WarningHandler = warnings
	return kubernetes.NewForConfigOrDie(cfg)
}

// warningRecorder keeps every warning an answer carried.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningRecorder) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.warnings...)
}
