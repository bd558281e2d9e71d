package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Requesters, impersonated with kubectl --as / --as-group.
var (
	asAlice  = []string{"--as", "alice"}
	asBob    = []string{"--as", "bob"}
	asAdmin  = []string{"--as", "root", "--as-group", "system:masters"}
	asIssuer = []string{"--as", "token-issuer"}
)

func as(who []string, args ...string) []string { return append(append([]string{}, who...), args...) }

func tokenSecret(ns, name, token, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
type: devgate.dev/token
stringData:
  token: %q
%s`, name, ns, token, extra)
}

func secretData(t *testing.T, ns, name, key string) string {
	t.Helper()
	s, err := clientset.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data[key])
}

const strongToken = "k3J9x!Qm7pL2vZ8w"

func TestTokenSecretLifecycle(t *testing.T) {
	ns := namespace(t, "tokens")
	// stringData reaches the webhook merged into data: user-id and ttl are
	// defaulted next to the token alice wrote as stringData.
	mustKubectl(t, tokenSecret(ns, "ci", strongToken, "  ttl: \"3600000\"\n"), as(asAlice, "apply", "-f", "-")...)
	if got := secretData(t, ns, "ci", "user-id"); got != "alice" {
		t.Fatalf("user-id = %q, want the requester", got)
	}
	if got := secretData(t, ns, "ci", "token"); got != strongToken {
		t.Fatal("token from stringData not stored")
	}

	// Only the owner or an admin may change or delete it.
	mustFail(t, "", []string{"user-id"}, as(asBob, "-n", ns, "delete", "secret", "ci")...)
	mustFail(t, "", []string{"user-id"}, as(asBob, "-n", ns, "label", "secret", "ci", "x=y")...)

	// Nobody but an admin extends the TTL; anyone reduces it.
	ttl := func(ms string) string {
		return fmt.Sprintf(`{"data":{"ttl":%q}}`, base64.StdEncoding.EncodeToString([]byte(ms)))
	}
	mustFail(t, "", []string{"data[ttl]"}, as(asAlice, "-n", ns, "patch", "secret", "ci", "-p", ttl("7200000"))...)
	mustKubectl(t, "", as(asAlice, "-n", ns, "patch", "secret", "ci", "-p", ttl("1800000"))...)
	mustKubectl(t, "", as(asAdmin, "-n", ns, "patch", "secret", "ci", "-p", ttl("7200000"))...)

	// The token, its owner and its kind never change.
	mustFail(t, "", []string{"data[token]"}, as(asAlice, "-n", ns, "patch", "secret", "ci", "-p",
		fmt.Sprintf(`{"data":{"token":%q}}`, base64.StdEncoding.EncodeToString([]byte("Zz9!Yy8@Xx7#Ww6$"))))...)

	mustKubectl(t, "", as(asAlice, "-n", ns, "delete", "secret", "ci")...)
}

func TestTokenSecretCreationRules(t *testing.T) {
	ns := namespace(t, "tokenrules")
	mustFail(t, tokenSecret(ns, "forbob", strongToken, "  user-id: bob\n"), []string{"data[user-id]"}, as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, tokenSecret(ns, "forbob", strongToken, "  user-id: bob\n"), as(asAdmin, "apply", "-f", "-")...)
	mustFail(t, tokenSecret(ns, "weak", "password123", ""), []string{"data[token]"}, as(asAlice, "apply", "-f", "-")...)
	mustFail(t, tokenSecret(ns, "long", strongToken, "  ttl: \"7776000001\"\n"), []string{"data[ttl]", "7776000000"}, as(asAlice, "apply", "-f", "-")...)
	out := mustKubectl(t, tokenSecret(ns, "max", strongToken+"x", "  ttl: \"7776000000\"\n"), as(asAlice, "apply", "-f", "-")...)
	_ = out
	// A denial never repeats the token value.
	errOut := mustFail(t, tokenSecret(ns, "short", "Ab1!Cd2@", ""), []string{"data[token]"}, as(asAlice, "apply", "-f", "-")...)
	if strings.Contains(errOut, "Ab1!Cd2@") {
		t.Fatalf("denial echoes the token: %s", errOut)
	}
}

func TestTTLWarningIsShownByKubectl(t *testing.T) {
	ns := namespace(t, "warn")
	_, errOut, ok := kubectl(t, tokenSecret(ns, "long", strongToken, ""), as(asAlice, "apply", "-f", "-")...)
	if !ok || !strings.Contains(errOut, "Warning:") || !strings.Contains(errOut, "80%") {
		t.Fatalf("ok=%v, stderr=%q: want the TTL warning", ok, errOut)
	}
}

func TestServiceAccountTokenLabels(t *testing.T) {
	ns := namespace(t, "salabels")
	sa := func(name, labels string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {%s}\n", name, ns, labels)
	}
	labels := `dev.okteto.com/token: "Tk9-x2Lm_Qa7Zp4W", dev.okteto.com/external-id: "ext-1"`
	mustFail(t, sa("bot", labels), []string{"metadata.labels[dev.okteto.com/token]"}, as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, sa("bot", labels), as(asIssuer, "apply", "-f", "-")...)
	// The same token on another ServiceAccount is denied, naming the holder.
	mustFail(t, sa("bot2", `dev.okteto.com/token: "Tk9-x2Lm_Qa7Zp4W", dev.okteto.com/external-id: "ext-2"`),
		[]string{"salabels/bot"}, as(asAdmin, "apply", "-f", "-")...)
	mustFail(t, sa("bot3", `dev.okteto.com/token: "Uv8-y3Nn_Rb6Xq5E"`), []string{"dev.okteto.com/external-id"}, as(asIssuer, "apply", "-f", "-")...)
	// Removing the labels is an issuer's or admin's job too.
	mustFail(t, "", []string{"dev.okteto.com/token"}, as(asAlice, "-n", ns, "label", "serviceaccount", "bot", "dev.okteto.com/token-", "dev.okteto.com/external-id-")...)
	mustKubectl(t, "", as(asAdmin, "-n", ns, "label", "serviceaccount", "bot", "dev.okteto.com/token-", "dev.okteto.com/external-id-")...)
}

func TestGuardedAndOIDCSecrets(t *testing.T) {
	ns := namespace(t, "keptn")
	mustFail(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: keptn-api-token, namespace: %s}\nstringData: {keptn-api-token: changeme}\n", ns),
		[]string{"data[keptn-api-token]"}, "apply", "-f", "-")
	mustKubectl(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: keptn-api-token, namespace: %s}\nstringData: {keptn-api-token: %q}\n", ns, strongToken), "apply", "-f", "-")
	oidc := func(issuer string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: github, namespace: %s}
type: devgate.dev/oidc-connector
stringData: {issuer: %q, client_id: devgate, client_secret: s3cr3t-value, redirect_uri: "https://okteto.example.com/callback"}
`, ns, issuer)
	}
	mustFail(t, oidc("http://issuer.example.com"), []string{"data[issuer]"}, "apply", "-f", "-")
	mustKubectl(t, oidc("https://issuer.example.com"), "apply", "-f", "-")
}
