package auth

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/policies/tokens"
)

// AdminUser is the user `devgate auth` creates at start when it is missing.
const AdminUser = "admin"

// GenerateToken returns a new user token: 40 characters of [A-Za-z0-9] from
// crypto/rand without modulo bias, strong under tokens.minLength. It is
// policies/tokens' generator, shared with the token policies.
func GenerateToken() (string, error) { return tokens.GenerateToken() }

// TokenCommand is the kubectl line that reads a user's token, as the admin of
// the source document retrieves it.
func TokenCommand(usersNamespace, user string) string {
	return fmt.Sprintf(`kubectl -n %s get sa -l=%s=%s -o=jsonpath='{.items[0].metadata.labels.dev\.okteto\.com/token}'`,
		usersNamespace, tokens.LabelExternalID, user)
}

// ValidUserName reports why name cannot be a user: a user is a DNS-1123
// label of at most 63 characters (the name of its ServiceAccount and of its
// invitation, and the value of its external-id label).
func ValidUserName(name string) error {
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("invalid user name %q: %s", name, msgs[0])
	}
	return nil
}

// userServiceAccount is the ServiceAccount of user with token.
func userServiceAccount(namespace, user, token string, annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: user, Namespace: namespace,
		Labels: map[string]string{
			tokens.LabelExternalID:         user,
			tokens.LabelToken:              token,
			"app.kubernetes.io/managed-by": "devgate",
		},
		Annotations: annotations,
	}}
}

// EnsureAdmin creates the admin user with a generated token when it does not
// exist, and logs how to read the token (never the token itself). It reports
// whether it created the user.
func EnsureAdmin(ctx context.Context, cs kubernetes.Interface, namespace string, log logr.Logger) (bool, error) {
	sas := cs.CoreV1().ServiceAccounts(namespace)
	_, err := sas.Get(ctx, AdminUser, metav1.GetOptions{})
	switch {
	case err == nil:
		log.Info("the admin user exists", "namespace", namespace, "readToken", TokenCommand(namespace, AdminUser))
		return false, nil
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("looking up the admin user: %w", err)
	}
	token, err := GenerateToken()
	if err != nil {
		return false, err
	}
	_, err = sas.Create(ctx, userServiceAccount(namespace, AdminUser, token, nil), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Another replica created it a moment ago.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating the admin user: %w", err)
	}
	log.Info("created the admin user with a generated token", "namespace", namespace, "readToken", TokenCommand(namespace, AdminUser))
	return true, nil
}
