package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The local kube-controller-manager runs with service-account credentials, as
// kubeadm and managed clusters run it: the namespace controller and the
// garbage collector delete as system:serviceaccount:kube-system:..., neither
// a token's owner nor an admin. tokens.systemDeleters lets them (SPEC 5.1).

func TestTokenSecretsDoNotBlockNamespaceDeletion(t *testing.T) {
	ns := namespace(t, "token-ns-delete")
	mustKubectl(t, tokenSecret(ns, "ci", strongToken, "  ttl: \"3600000\"\n"), as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, "", "delete", "namespace", ns, "--wait=false")
	eventually(t, 90*time.Second, func() error {
		got, err := clientset.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s is %s: %v", ns, got.Status.Phase, got.Status.Conditions)
	})
}

func TestTokenSecretsAreGarbageCollected(t *testing.T) {
	ns := namespace(t, "token-gc")
	mustKubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner, namespace: "+ns+"}\n", as(asAlice, "apply", "-f", "-")...)
	owner, err := clientset.CoreV1().ConfigMaps(ns).Get(context.Background(), "owner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: ci
  namespace: %s
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: %s}]
type: devgate.dev/token
stringData: {token: %q, ttl: "3600000"}
`, ns, owner.UID, strongToken), as(asAlice, "apply", "-f", "-")...)
	// Another tenant still cannot delete it.
	mustFail(t, "", []string{"user-id"}, as(asBob, "-n", ns, "delete", "secret", "ci")...)
	mustKubectl(t, "", as(asAlice, "-n", ns, "delete", "configmap", "owner")...)
	eventually(t, 60*time.Second, func() error {
		_, err := clientset.CoreV1().Secrets(ns).Get(context.Background(), "ci", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the token Secret outlives its owner: %v", err)
	})
}

func TestDisabledTokenStaysDisabledForItsOwner(t *testing.T) {
	ns := namespace(t, "token-disable")
	mustKubectl(t, tokenSecret(ns, "ci", strongToken, "  ttl: \"3600000\"\n"), as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, "", as(asAdmin, "-n", ns, "patch", "secret", "ci", "-p", `{"stringData":{"enabled":"false"}}`)...)
	mustFail(t, "", []string{`data[enabled]: Forbidden: only admins (tokens.adminGroups) may enable a disabled token`},
		as(asAlice, "-n", ns, "patch", "secret", "ci", "-p", `{"stringData":{"enabled":"true"}}`)...)
	mustKubectl(t, "", as(asAdmin, "-n", ns, "patch", "secret", "ci", "-p", `{"stringData":{"enabled":"true"}}`)...)
}
