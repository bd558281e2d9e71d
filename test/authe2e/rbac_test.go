package authe2e

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/test/chartrender"
)

// usersNamespace is devgate's own namespace in these tests: the users and
// invitations live there (auth.usersNamespace left empty).
const usersNamespace = "devgate"

// chartRBAC is the RBAC the chart renders for the auth service, released as
// "devgate" in devgate's namespace: the tests run the auth service with
// exactly the permissions the chart grants it, so a permission the code needs
// and the chart lacks fails here.
var chartRBAC = sync.OnceValues(func() ([]*unstructured.Unstructured, error) {
	out, err := chartrender.Template(context.Background(), "devgate", usersNamespace, "--set", "config.domain=okteto.example.com")
	if err != nil {
		return nil, err
	}
	return chartrender.Decode(out)
})

// chartObject is the chart's object of kind and name, decoded into into.
func chartObject(t *testing.T, kind, name string, into any) {
	t.Helper()
	objs, err := chartRBAC()
	if err != nil {
		t.Fatal(err)
	}
	o := chartrender.Find(objs, kind, name)
	if o == nil {
		t.Fatalf("the chart renders no %s %s", kind, name)
	}
	if err := chartrender.Convert(o, into); err != nil {
		t.Fatal(err)
	}
}

// authClusterRules are the rules of the chart's ClusterRole devgate-auth.
func authClusterRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole
	chartObject(t, "ClusterRole", "devgate-auth", &role)
	return role.Rules
}

// seedAuthRBAC creates devgate's namespace and the chart's RBAC of the auth
// service: its ClusterRole, the Role in the users namespace (create
// ServiceAccounts and invitations, update and delete invitations),
// devgate-member, and the admins' Role (the admin user and
// tokens.adminGroups), with their bindings, as the chart renders them.
func seedAuthRBAC(t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: usersNamespace}}, metav1.CreateOptions{}))
	for _, name := range []string{"devgate-auth", "devgate-member"} {
		var role rbacv1.ClusterRole
		chartObject(t, "ClusterRole", name, &role)
		must(admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: role.Rules}, metav1.CreateOptions{}))
	}
	var binding rbacv1.ClusterRoleBinding
	chartObject(t, "ClusterRoleBinding", "devgate-auth", &binding)
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: binding.Name}, Subjects: binding.Subjects, RoleRef: binding.RoleRef}, metav1.CreateOptions{}))
	for _, name := range []string{"devgate-auth-users", "devgate-auth-admin"} {
		var role rbacv1.Role
		chartObject(t, "Role", name, &role)
		must(admin.RbacV1().Roles(usersNamespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: role.Rules}, metav1.CreateOptions{}))
		var rb rbacv1.RoleBinding
		chartObject(t, "RoleBinding", name, &rb)
		must(admin.RbacV1().RoleBindings(usersNamespace).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: rb.Subjects, RoleRef: rb.RoleRef}, metav1.CreateOptions{}))
	}
}

// startControlPlane starts a control plane without kube-controller-manager
// (the auth service needs only the API server) and stops it when the test
// ends.
func startControlPlane(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	cp, err := controlplane.Start(controlplane.Options{Dir: t.TempDir(), WithoutControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	})
	return cp
}
