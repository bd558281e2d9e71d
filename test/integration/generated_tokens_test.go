package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// generatedToken is what the mutating webhook generates (SPEC 5.1, 5.2).
var generatedToken = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)

// decodeGenerated decodes what `-o jsonpath='{.data.<key>}'` printed and
// fails unless it is a generated token.
func decodeGenerated(t *testing.T, what, printed string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(printed))
	if err != nil {
		t.Fatalf("%s: kubectl printed %q, not base64: %v", what, printed, err)
	}
	if !generatedToken.Match(b) {
		t.Fatalf("%s: kubectl printed a value of %d bytes, want 40 characters of [A-Za-z0-9]", what, len(b))
	}
	return string(b)
}

// createGenerated runs kubectl create with -o jsonpath for key and returns the
// generated token it prints; the warning names the key and not the value.
func createGenerated(t *testing.T, what, stdin, key string, args ...string) string {
	t.Helper()
	args = append(args, "-o", "jsonpath={.data."+key+"}")
	stdout, stderr, ok := kubectl(t, stdin, args...)
	if !ok {
		t.Fatalf("%s: kubectl %s failed: %s", what, strings.Join(args, " "), stderr)
	}
	v := decodeGenerated(t, what, stdout)
	if !strings.Contains(stderr, "a token is generated at admission") {
		t.Errorf("%s: no warning about the generated token: %q", what, stderr)
	}
	if strings.Contains(stderr, v) || strings.Contains(stderr, base64.StdEncoding.EncodeToString([]byte(v))) {
		t.Errorf("%s: a warning holds the generated token", what)
	}
	return v
}

func TestGeneratedTokenSecret(t *testing.T) {
	ns := namespace(t, "gentokens")
	manifest := func(name, data string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ntype: devgate.dev/token\n%s", name, ns, data)
	}

	// As Rancher returns a new token's value: the created object holds it.
	v := createGenerated(t, "no token", manifest("ci", "stringData: {ttl: \"3600000\"}\n"), "token", as(asAlice, "create", "-f", "-")...)
	if got := secretData(t, ns, "ci", "token"); got != v {
		t.Fatal("the stored token is not the one kubectl printed")
	}
	if got := secretData(t, ns, "ci", "user-id"); got != "alice" {
		t.Fatalf("user-id = %q, want the requester", got)
	}
	// Present and empty, in stringData or data, and a token Secret without data.
	v2 := createGenerated(t, "empty in stringData", manifest("cd", "stringData: {token: \"\", ttl: \"3600000\"}\n"), "token", as(asAlice, "create", "-f", "-")...)
	v3 := createGenerated(t, "empty in data", manifest("ops", "data: {token: \"\"}\n"), "token", as(asAlice, "create", "-f", "-")...)
	v4 := createGenerated(t, "no data", manifest("bare", ""), "token", as(asAlice, "create", "-f", "-")...)
	// Nothing else to default: the token alone takes the request to /mutate.
	v5 := createGenerated(t, "only the token missing", manifest("full", "data: {user-id: YWxpY2U=, ttl: MzYwMDAwMA==}\n"), "token", as(asAlice, "create", "-f", "-")...)
	if len(map[string]bool{v: true, v2: true, v3: true, v4: true, v5: true}) != 5 {
		t.Fatal("the same token was generated twice")
	}

	// A server-side dry run shows a value that is never stored.
	dry := createGenerated(t, "dry run", manifest("dry", ""), "token", as(asAlice, "create", "-f", "-", "--dry-run=server")...)
	if _, err := clientset.CoreV1().Secrets(ns).Get(context.Background(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run stored the token Secret: %v", err)
	}
	if dry == v || dry == v2 || dry == v3 || dry == v4 {
		t.Fatal("a dry run showed a stored token")
	}

	// Only on CREATE: emptying the token is an immutable change, denied; the
	// stored token stays.
	mustFail(t, "", []string{"data[token]", "immutable"}, as(asAlice, "-n", ns, "patch", "secret", "ci", "-p", `{"data":{"token":""}}`)...)
	if got := secretData(t, ns, "ci", "token"); got != v {
		t.Fatal("an update changed the stored token")
	}
	// A token given is kept.
	stdout := mustKubectl(t, tokenSecret(ns, "given", strongToken, ""), as(asAlice, "create", "-f", "-", "-o", "jsonpath={.data.token}")...)
	if b, _ := base64.StdEncoding.DecodeString(stdout); string(b) != strongToken {
		t.Fatal("a given token was replaced")
	}
}

// keptnNamespace makes sure namespace keptn exists and is active. It is left
// in place: TestGuardedAndOIDCSecrets uses it too, and deleting it would
// leave it terminating for that test.
func keptnNamespace(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	eventually(t, time.Minute, func() error {
		n, err := clientset.CoreV1().Namespaces().Get(ctx, "keptn", metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "keptn"}}, metav1.CreateOptions{})
			return err
		case err != nil:
			return err
		case n.Status.Phase != corev1.NamespaceActive:
			return fmt.Errorf("namespace keptn is %s", n.Status.Phase)
		}
		return nil
	})
}

func TestGeneratedGuardedToken(t *testing.T) {
	keptnNamespace(t)
	ctx := context.Background()
	secrets := clientset.CoreV1().Secrets("keptn")
	// Leave no keptn-api-token behind for the other tests of namespace keptn.
	deleteKeptn := func() {
		_ = secrets.Delete(ctx, "keptn-api-token", metav1.DeleteOptions{})
		eventually(t, time.Minute, func() error {
			if _, err := secrets.Get(ctx, "keptn-api-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("keptn-api-token still there: %v", err)
			}
			return nil
		})
	}
	deleteKeptn()
	t.Cleanup(deleteKeptn)

	// The Keptn token of the source document; the integration config lists
	// keptn/keptn-api-token with key keptn-api-token. A dry run first: it
	// shows a value and stores nothing.
	create := []string{"create", "secret", "generic", "keptn-api-token", "-n", "keptn", "--from-literal=keptn-api-token="}
	dry := createGenerated(t, "keptn dry run", "", "keptn-api-token", append(create, "--dry-run=server")...)
	if _, err := secrets.Get(ctx, "keptn-api-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run stored keptn-api-token: %v", err)
	}
	v := createGenerated(t, "keptn", "", "keptn-api-token", create...)
	if v == dry {
		t.Fatal("the dry run's value was stored")
	}
	if got := secretData(t, "keptn", "keptn-api-token", "keptn-api-token"); got != v {
		t.Fatal("the stored keptn-api-token is not the one kubectl printed")
	}
	// Only on CREATE: emptying it is denied, the stored value stays.
	mustFail(t, "", []string{"data[keptn-api-token]"}, "-n", "keptn", "patch", "secret", "keptn-api-token", "-p", `{"data":{"keptn-api-token":""}}`)
	if got := secretData(t, "keptn", "keptn-api-token", "keptn-api-token"); got != v {
		t.Fatal("an update changed the stored keptn-api-token")
	}

	// A labelled Secret, with its key from the annotation; a missing key is
	// still denied rather than generated.
	ns := namespace(t, "genguarded")
	labelled := func(name, data string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s
  namespace: %s
  labels: {devgate.dev/guard: token}
  annotations: {devgate.dev/token-key: api-key}
%s`, name, ns, data)
	}
	got := createGenerated(t, "labelled", labelled("api", "stringData: {api-key: \"\", url: \"https://api.example.com\"}\n"), "api-key", as(asAlice, "create", "-f", "-")...)
	if stored := secretData(t, ns, "api", "api-key"); stored != got {
		t.Fatal("the stored api-key is not the one kubectl printed")
	}
	if url := secretData(t, ns, "api", "url"); url != "https://api.example.com" {
		t.Fatalf("another key changed: url = %q", url)
	}
	mustFail(t, labelled("nokey", "stringData: {url: \"https://api.example.com\"}\n"), []string{"data[api-key]"}, as(asAlice, "create", "-f", "-")...)
}
