package gatewayapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/internal/devenv"
	"devgate.dev/devgate/policies/tokens"
)

// TestDashboardListsHTTPRoutes: the dashboard lists a tenant's HTTPRoute
// with its kind and the lock of a private route, and a Service's endpoint
// under the Service, not its generated HTTPRoute.
func TestDashboardListsHTTPRoutes(t *testing.T) {
	ns := namespace(t, "routes-dash")
	ctx := context.Background()
	// The admin user is a member of the namespace, as an invitation makes it.
	if err := cl.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: auth.MemberRoleBindingPrefix + auth.AdminUser, Namespace: ns},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: auth.AdminUser, Namespace: devenv.Namespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: auth.MemberClusterRole},
	}); err != nil {
		t.Fatal(err)
	}
	var admins corev1.ServiceAccountList
	if err := cl.List(ctx, &admins, client.InNamespace(devenv.Namespace), client.MatchingLabels{tokens.LabelExternalID: auth.AdminUser}); err != nil || len(admins.Items) != 1 {
		t.Fatalf("the admin user: %v", err)
	}
	token := admins.Items[0].Labels[tokens.LabelToken]
	mustKubectl(t, route(ns, "app", "  annotations: {dev.okteto.com/private: \"true\"}\nspec:\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n"), "apply", "--as", "alice", "-f", "-")
	mustKubectl(t, service(ns, "web", "true"), "apply", "--as", "alice", "-f", "-")

	want := []auth.Endpoint{
		{URL: "https://web-" + ns + ".okteto.example.com", Kind: "Service", Name: "web"},
		{URL: "https://app-" + ns + ".okteto.example.com", Kind: "HTTPRoute", Name: "app", Private: true},
	}
	eventually(t, 30*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, env.AuthURL()+"/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var page struct {
			Namespaces []struct {
				Name      string
				Endpoints []auth.Endpoint
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			return fmt.Errorf("status %d: %v", resp.StatusCode, err)
		}
		for _, n := range page.Namespaces {
			if n.Name == ns {
				if slices.Equal(n.Endpoints, want) {
					return nil
				}
				return fmt.Errorf("endpoints %+v, want %+v", n.Endpoints, want)
			}
		}
		return fmt.Errorf("namespace %s not listed: %+v", ns, page.Namespaces)
	})
}
