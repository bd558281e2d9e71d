package chartrender

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"devgate.dev/devgate/policies/config"
)

func helmTemplate(args ...string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) { return Template(ctx, "devgate", "platform", args...) }
}

// TestChartSchemaRejectsTypos: values.schema.json forbids unknown keys at
// every level, so a misspelt value fails the install instead of being ignored.
func TestChartSchemaRejectsTypos(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, set := range []string{
		"domian=example.com",
		"config.domian=example.com",
		"config.tls.clusterIsuer=letsencrypt",
		"config.tokens.guardedSecrets[0].nmae=x",
		"webhook.certificate.sorce=secret",
		"auth.ingress.enable=false",
		"auth.networkPolicy.ingressControllerNamespce=nginx",
		"config.auth.trustedProxy[0]=10.0.0.0/8",
		"config.tls.mode=letsencrypt",
		"webhook.certificate.source=vault",
	} {
		if _, err := Template(ctx, "devgate", "platform", "--set", set); err == nil {
			t.Errorf("helm template --set %s succeeded, want a schema error", set)
		} else if !strings.Contains(err.Error(), "schema") {
			t.Errorf("helm template --set %s: error does not come from the schema: %v", set, err)
		}
	}
	if _, err := Template(ctx, "devgate", "platform", "--set", "config.domain=apps.example.net"); err != nil {
		t.Errorf("a valid value is rejected: %v", err)
	}
}

// TestChartConfigMap: the chart's configuration is what SPEC 1 documents,
// with the Keptn guarded Secret, and values map one to one onto it.
func TestChartConfigMap(t *testing.T) {
	cfg := parseConfig(t, render(t, helmTemplate()), "devgate")
	want := config.GuardedSecret{Namespace: "keptn", Name: "keptn-api-token", Key: "keptn-api-token"}
	if !slices.Contains(cfg.Tokens.GuardedSecrets, want) {
		t.Errorf("guardedSecrets = %v, want the Keptn entry", cfg.Tokens.GuardedSecrets)
	}
	if cfg.PrivateEndpoints.AuthURL != "https://okteto.example.com/auth/verify" || cfg.PrivateEndpoints.SigninURL != "https://okteto.example.com/auth/signin" {
		t.Errorf("auth URLs = %s, %s; want the auth service under the domain", cfg.PrivateEndpoints.AuthURL, cfg.PrivateEndpoints.SigninURL)
	}
	cfg = parseConfig(t, render(t, helmTemplate("--set", "config.domain=apps.example.net", "--set", "config.tls.mode=cert-manager",
		"--set", "config.tls.clusterIssuer=letsencrypt", "--set", "config.tokens.maxTTL=24h", "--set", "config.ingressClassName=")), "devgate")
	if cfg.Domain != "apps.example.net" || cfg.TLS.ClusterIssuer != "letsencrypt" || cfg.Tokens.MaxTTL.Hours() != 24 || cfg.IngressClassName != "" {
		t.Errorf("values not carried into the configuration: %+v", cfg)
	}
	if cfg.PrivateEndpoints.AuthURL != "https://apps.example.net/auth/verify" {
		t.Errorf("authURL = %s, want it to follow the domain", cfg.PrivateEndpoints.AuthURL)
	}
	cfg = parseConfig(t, render(t, helmTemplate("--set", "config.auth.trustedProxies={10.2.0.0/16,192.0.2.7}")), "devgate")
	if !slices.Equal(cfg.Auth.TrustedProxies, []string{"10.2.0.0/16", "192.0.2.7"}) {
		t.Errorf("auth.trustedProxies = %v, want the values' list", cfg.Auth.TrustedProxies)
	}
}

// TestURLModeRendersNoServer: with webhook.url devgate runs outside, so no
// webhook Deployment, Service or certificate; the configuration, the RBAC it
// can run with and the auth service are still there.
func TestURLModeRendersNoServer(t *testing.T) {
	objs := render(t, helmTemplate("--set", "webhook.url=https://10.0.0.5:9443"))
	for _, kind := range []string{"Issuer", "Certificate", "PodDisruptionBudget"} {
		for _, o := range OfKind(objs, kind) {
			if o.GetLabels()["app.kubernetes.io/component"] != "auth" {
				t.Errorf("%s %s rendered in webhook.url mode", kind, o.GetName())
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service"} {
		if Find(objs, kind, "devgate") != nil {
			t.Errorf("%s devgate rendered in webhook.url mode", kind)
		}
	}
	for _, want := range [][2]string{{"ConfigMap", "devgate"}, {"ClusterRole", "devgate"}, {"ServiceAccount", "devgate"}, {"Deployment", "devgate-auth"}} {
		if Find(objs, want[0], want[1]) == nil {
			t.Errorf("%s %s missing in webhook.url mode", want[0], want[1])
		}
	}
}

// TestRestrictedPodSecurity: every pod of the chart and of config/ meets the
// restricted Pod Security Standard, and the webhook runs replicated.
func TestRestrictedPodSecurity(t *testing.T) {
	for _, src := range []struct {
		name   string
		render func(context.Context) ([]byte, error)
	}{
		{"chart", helmTemplate()},
		{"config/default", func(ctx context.Context) ([]byte, error) { return Kustomize(ctx, "default") }},
	} {
		objs := render(t, src.render)
		deployments := OfKind(objs, "Deployment")
		if len(deployments) == 0 {
			t.Fatalf("%s: no Deployment", src.name)
		}
		for _, o := range deployments {
			var d appsv1.Deployment
			if err := Convert(o, &d); err != nil {
				t.Fatal(err)
			}
			where := src.name + " Deployment " + d.Name
			if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
				t.Errorf("%s: replicas %v, want 2", where, d.Spec.Replicas)
			}
			if pdb := findPDB(objs, d.Spec.Template.Labels); pdb == nil {
				t.Errorf("%s: no PodDisruptionBudget selects its pods", where)
			}
			pod := d.Spec.Template.Spec
			if pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil {
				t.Errorf("%s: no pod anti-affinity", where)
			}
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod securityContext %+v is not restricted", where, psc)
			}
			for _, c := range pod.Containers {
				sc := c.SecurityContext
				if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
					sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
					sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
					t.Errorf("%s container %s: securityContext %+v is not restricted", where, c.Name, sc)
				}
				if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s container %s: no memory request and limit", where, c.Name)
				}
			}
		}
	}
}

func findPDB(objs []*unstructured.Unstructured, podLabels map[string]string) *unstructured.Unstructured {
	for _, o := range OfKind(objs, "PodDisruptionBudget") {
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
		matches := len(sel) > 0
		for k, v := range sel {
			matches = matches && podLabels[k] == v
		}
		if matches {
			return o
		}
	}
	return nil
}

// TestRBACSameInChartAndConfig: config/rbac grants devgate serve exactly
// what the chart grants.
func TestRBACSameInChartAndConfig(t *testing.T) {
	chart := render(t, helmTemplate())
	kustomized := render(t, func(ctx context.Context) ([]byte, error) { return Kustomize(ctx, "default") })
	for _, want := range [][3]string{{"ClusterRole", "devgate", "devgate"}, {"Role", "devgate-leader-election", "devgate-leader-election"}} {
		var a, b rbacv1.ClusterRole
		ca, cb := Find(chart, want[0], want[1]), Find(kustomized, want[0], want[2])
		if ca == nil || cb == nil {
			t.Fatalf("%s %s missing: chart %v, config %v", want[0], want[1], ca != nil, cb != nil)
		}
		ca, cb = ca.DeepCopy(), cb.DeepCopy()
		ca.SetKind("ClusterRole")
		cb.SetKind("ClusterRole")
		if err := Convert(ca, &a); err != nil {
			t.Fatal(err)
		}
		if err := Convert(cb, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Rules, b.Rules) {
			t.Errorf("%s rules differ:\nchart:\n%s\nconfig:\n%s", want[0], toYAML(a.Rules), toYAML(b.Rules))
		}
	}
}

// TestAuthService: the chart packages `devgate auth` as its contract says.
func TestAuthService(t *testing.T) {
	objs := render(t, helmTemplate())
	var d appsv1.Deployment
	if o := Find(objs, "Deployment", "devgate-auth"); o == nil {
		t.Fatal("no auth Deployment")
	} else if err := Convert(o, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"auth", "--config=/etc/devgate/config.yaml", "--bind-address=:8082", "--namespace=platform", "--cookie-secret-file=/etc/devgate-auth/cookie-secret",
		"--metrics-bind-address=:9090"}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("auth args = %v, want %v", c.Args, wantArgs)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.Ports[0].ContainerPort != 8082 ||
		len(c.Ports) != 2 || c.Ports[1].Name != "metrics" || c.Ports[1].ContainerPort != 9090 {
		t.Errorf("auth probes/port: %+v %+v %+v", c.ReadinessProbe.HTTPGet, c.LivenessProbe.HTTPGet, c.Ports)
	}
	var svc corev1.Service
	if err := Convert(Find(objs, "Service", "devgate-auth"), &svc); err != nil {
		t.Fatal(err)
	}
	if p := svc.Spec.Ports[0]; p.Port != 80 || p.TargetPort.String() != "http" {
		t.Errorf("auth Service port %+v, want 80 -> http (8082)", p)
	}
	var ing networkingv1.Ingress
	if err := Convert(Find(objs, "Ingress", "devgate-auth"), &ing); err != nil {
		t.Fatal(err)
	}
	rule := ing.Spec.Rules[0]
	path := rule.HTTP.Paths[0]
	if rule.Host != "okteto.example.com" || path.Path != "/auth" || *path.PathType != networkingv1.PathTypePrefix ||
		path.Backend.Service.Name != "devgate-auth" || ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("auth Ingress: %s", toYAML(ing.Spec))
	}
	secret := Find(objs, "Secret", "devgate-auth-cookie")
	if secret == nil {
		t.Fatal("no generated cookie Secret")
	}
	if v, _, _ := unstructured.NestedString(secret.Object, "data", "cookie-secret"); len(v) < 64 {
		t.Errorf("cookie secret %q is shorter than 48 random characters", v)
	}
	var role rbacv1.ClusterRole
	if err := Convert(Find(objs, "ClusterRole", "devgate-auth"), &role); err != nil {
		t.Fatal(err)
	}
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "secrets"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"rolebindings"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"gateway.networking.k8s.io"}, Resources: []string{"httproutes"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"rolebindings"}, Verbs: []string{"list"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"bind"}, ResourceNames: []string{"devgate-member"}},
	}
	if !reflect.DeepEqual(role.Rules, wantRules) {
		t.Errorf("auth ClusterRole rules:\n%s", toYAML(role.Rules))
	}
	// In the users namespace (the release's by default): creating users,
	// claiming and deleting invitations.
	var users rbacv1.Role
	if err := Convert(Find(objs, "Role", "devgate-auth-users"), &users); err != nil {
		t.Fatal(err)
	}
	wantUsers := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "update", "delete"}},
	}
	if users.Namespace != "platform" || !reflect.DeepEqual(users.Rules, wantUsers) {
		t.Errorf("auth users Role in %q:\n%s", users.Namespace, toYAML(users.Rules))
	}
	var member rbacv1.ClusterRole
	if err := Convert(Find(objs, "ClusterRole", "devgate-member"), &member); err != nil {
		t.Fatal(err)
	}
	wantMember := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch"}},
	}
	if !reflect.DeepEqual(member.Rules, wantMember) {
		t.Errorf("devgate-member rules:\n%s", toYAML(member.Rules))
	}
	var adminBinding rbacv1.RoleBinding
	if err := Convert(Find(objs, "RoleBinding", "devgate-auth-admin"), &adminBinding); err != nil {
		t.Fatal(err)
	}
	wantSubjects := []rbacv1.Subject{
		{Kind: "ServiceAccount", Name: "admin", Namespace: "platform"},
		{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:masters"},
	}
	if adminBinding.Namespace != "platform" || adminBinding.RoleRef.Name != "devgate-auth-admin" || !reflect.DeepEqual(adminBinding.Subjects, wantSubjects) {
		t.Errorf("admin RoleBinding: %s", toYAML(adminBinding))
	}
	var adminRole rbacv1.Role
	if err := Convert(Find(objs, "Role", "devgate-auth-admin"), &adminRole); err != nil {
		t.Fatal(err)
	}
	if r := adminRole.Rules[0]; r.Resources[0] != "secrets" || !slices.Contains(r.Verbs, "create") {
		t.Errorf("admin Role: %s", toYAML(adminRole.Rules))
	}
	cfg := parseConfig(t, objs, "devgate")
	if cfg.Auth.UsersNamespace != "platform" || cfg.AuthPublicURL() != "https://okteto.example.com/auth" || !cfg.Auth.SignInWithToken() {
		t.Errorf("auth configuration: %+v", cfg.Auth)
	}
	objs2 := render(t, helmTemplate("--set", "config.auth.usersNamespace=people", "--set", "config.tokens.adminGroups={ops}"))
	if err := Convert(Find(objs2, "RoleBinding", "devgate-auth-admin"), &adminBinding); err != nil {
		t.Fatal(err)
	}
	if adminBinding.Namespace != "people" || adminBinding.Subjects[0].Namespace != "people" || adminBinding.Subjects[1].Name != "ops" {
		t.Errorf("admin RoleBinding with usersNamespace=people: %s", toYAML(adminBinding))
	}

	objs = render(t, helmTemplate("--set", "auth.cookieSecret.existingSecret=mine", "--set", "auth.ingress.enabled=false"))
	if Find(objs, "Secret", "devgate-auth-cookie") != nil || Find(objs, "Ingress", "devgate-auth") != nil {
		t.Error("existingSecret still generates a Secret, or ingress.enabled=false still renders the Ingress")
	}
	objs = render(t, helmTemplate("--set", "auth.enabled=false"))
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/component"] == "auth" {
			t.Errorf("auth.enabled=false still renders %s %s", o.GetKind(), o.GetName())
		}
	}
}

// TestAuthNetworkPolicy: only the ingress controller's namespace reaches the
// auth pods' service port; the metrics port is open to metricsFrom.
func TestAuthNetworkPolicy(t *testing.T) {
	objs := render(t, helmTemplate())
	var np networkingv1.NetworkPolicy
	if o := Find(objs, "NetworkPolicy", "devgate-auth"); o == nil {
		t.Fatal("no auth NetworkPolicy")
	} else if err := Convert(o, &np); err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := Convert(Find(objs, "Deployment", "devgate-auth"), &d); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("policy selects %v, the auth pods are %v", np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 2 {
		t.Fatalf("policy: %s", toYAML(np.Spec))
	}
	http := np.Spec.Ingress[0]
	if len(http.From) != 1 || http.From[0].PodSelector != nil || http.From[0].IPBlock != nil || http.From[0].NamespaceSelector == nil ||
		!reflect.DeepEqual(http.From[0].NamespaceSelector.MatchLabels, map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}) ||
		len(http.From[0].NamespaceSelector.MatchExpressions) != 0 {
		t.Errorf("service port admitted from %s, want the ingress-nginx namespace only", toYAML(http.From))
	}
	if len(http.Ports) != 1 || http.Ports[0].Port.IntValue() != 8082 || *http.Ports[0].Protocol != "TCP" {
		t.Errorf("service rule ports %s, want TCP 8082", toYAML(http.Ports))
	}
	metrics := np.Spec.Ingress[1]
	if len(metrics.From) != 0 || len(metrics.Ports) != 1 || metrics.Ports[0].Port.IntValue() != 9090 {
		t.Errorf("metrics rule %s, want TCP 9090 from anywhere", toYAML(metrics))
	}

	objs = render(t, helmTemplate("--set", "auth.networkPolicy.ingressControllerNamespace=edge",
		"--set", "auth.networkPolicy.ingressControllerPodSelector.matchLabels.app=ingress", "--set", "auth.port=8443",
		"--set", "auth.metrics.enabled=false"))
	if err := Convert(Find(objs, "NetworkPolicy", "devgate-auth"), &np); err != nil {
		t.Fatal(err)
	}
	if len(np.Spec.Ingress) != 1 {
		t.Fatalf("metrics disabled, still %d rules", len(np.Spec.Ingress))
	}
	peer := np.Spec.Ingress[0].From[0]
	if peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "edge" || peer.PodSelector == nil ||
		!reflect.DeepEqual(peer.PodSelector.MatchLabels, map[string]string{"app": "ingress"}) || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8443 {
		t.Errorf("values not carried into the policy: %s", toYAML(np.Spec))
	}
	if err := Convert(Find(objs, "Deployment", "devgate-auth"), &d); err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--metrics-bind-address") {
			t.Errorf("metrics disabled, still %s", a)
		}
	}
	if Find(render(t, helmTemplate("--set", "auth.networkPolicy.enabled=false")), "NetworkPolicy", "devgate-auth") != nil {
		t.Error("networkPolicy.enabled=false still renders the policy")
	}
}
