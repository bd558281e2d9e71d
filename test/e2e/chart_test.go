package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

const tenant = "e2e-tenant"

// TestChart follows one release through its life: the chart's webhook
// configurations admit, mutate and deny; a server-side dry run creates
// nothing; an invited user joins through nginx and signs in with the chart's
// auth service (onboarding, before the upgrade changes the domain); `helm
// upgrade` with a new domain reaches the running devgate
// without a restart, and so does one to Gateway API's HTTPRoutes and back;
// `helm uninstall` leaves nothing behind. The features
// run in this order.
func TestChart(t *testing.T) {
	testenv.Test(t, admission(), applicationChart(), dryRun(), onboarding(), upgrade(), httpRouteMode(upgradedDomain), rbacIsWhatTheCodeCalls(serverCalls), uninstall())
}

func admission() features.Feature {
	return features.New("the chart's webhooks enforce SPEC 2-5").
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, "", "create", "namespace", tenant)
			return ctx
		}).
		Assess("a Service with auto-ingress gets its endpoint and Ingress", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustKubectl(t, service("web"), "apply", "-f", "-")
			var svc corev1.Service
			if err := cfg.Client().Resources().Get(ctx, "web", tenant, &svc); err != nil {
				t.Fatal(err)
			}
			if got, want := svc.Annotations["devgate.dev/endpoint"], "https://web-"+tenant+"."+domain; got != want {
				t.Fatalf("devgate.dev/endpoint = %q, want %q", got, want)
			}
			// The controller runs as the chart's ServiceAccount: creating the
			// Ingress and the Event needs exactly the chart's RBAC.
			waitForIngressHost(ctx, t, cfg, "web-"+tenant+"."+domain)
			var events eventsv1.EventList
			err := wait.For(conditions.New(cfg.Client().Resources(tenant)).ResourceListMatchN(&events, 1, func(o k8s.Object) bool {
				e := o.(*eventsv1.Event)
				return e.Reason == "EndpointCreated" && e.Regarding.Name == "web"
			}), wait.WithTimeout(30*time.Second), wait.WithInterval(200*time.Millisecond))
			if err != nil {
				t.Fatalf("no EndpointCreated Event on Service web: %v", err)
			}
			return ctx
		}).
		Assess("an Ingress for a foreign host is denied", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustDeny(t, ingress(tenant, "evil.example.org"), []string{`The Ingress "steal" is invalid`, "evil.example.org"}, "apply", "-f", "-")
			return ctx
		}).
		Assess("a token Secret with a ttl over maxTTL is denied", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustDeny(t, tokenSecret("7776000001"), []string{`The Secret "ci-token" is invalid`, "data[ttl]"}, "apply", "-f", "-")
			mustKubectl(t, tokenSecret("3600000"), "apply", "-f", "-")
			return ctx
		}).
		Assess("devgate's own namespace is not judged", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, ingress(releaseNS, "evil.example.org"), "apply", "--dry-run=server", "-f", "-")
			return ctx
		}).Feature()
}

func dryRun() features.Feature {
	return features.New("a server-side dry run shows the mutation and creates nothing").
		Assess("kubectl apply --dry-run=server", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			out := mustKubectl(t, service("preview"), "apply", "--dry-run=server", "-o", "yaml", "-f", "-")
			if want := "devgate.dev/endpoint: https://preview-" + tenant + "." + domain; !strings.Contains(out, want) {
				t.Fatalf("dry run output lacks %q:\n%s", want, out)
			}
			// Long enough for the controller to have acted had anything been stored.
			time.Sleep(2 * time.Second)
			for _, obj := range []k8s.Object{&corev1.Service{}, &networkingv1.Ingress{}} {
				err := cfg.Client().Resources().Get(ctx, "preview", tenant, obj)
				if !apierrors.IsNotFound(err) {
					t.Errorf("%T preview after a dry run: %v, want NotFound", obj, err)
				}
			}
			return ctx
		}).Feature()
}

// upgradedDomain is the domain after upgrade().
const upgradedDomain = "apps.example.net"

func upgrade() features.Feature {
	const newDomain = upgradedDomain
	var cookie string
	return features.New("helm upgrade with a new domain is picked up without a restart").
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			cookie = cookieSecret(ctx, t)
			return ctx
		}).
		Assess("helm upgrade --set config.domain", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustHelm(t, "upgrade", release, chartDir(), "--namespace", releaseNS, "--reuse-values", "--set", "config.domain="+newDomain)
			// The same devgate process, which never restarts in this suite,
			// judges with the new domain once the ConfigMap reaches its file.
			eventually(t, 30*time.Second, func() error {
				out, errOut, ok := kubectl(t, service("preview"), "apply", "--dry-run=server", "-o", "yaml", "-f", "-")
				if want := "https://preview-" + tenant + "." + newDomain; !ok || !strings.Contains(out, want) {
					return fmt.Errorf("dry run does not show %s yet: %s", want, errOut)
				}
				return nil
			})
			// The controller follows the configuration change too.
			waitForIngressHost(ctx, t, cfg, "web-"+tenant+"."+newDomain)
			mustDeny(t, ingress(tenant, "x-"+tenant+"."+domain), []string{`The Ingress "steal" is invalid`, "x-" + tenant + "." + domain}, "apply", "--dry-run=server", "-f", "-")
			return ctx
		}).
		Assess("the auth cookie secret survives the upgrade", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if got := cookieSecret(ctx, t); got != cookie {
				t.Errorf("the cookie secret changed on upgrade: sessions would be lost")
			}
			return ctx
		}).Feature()
}

func uninstall() features.Feature {
	var manifest string
	return features.New("helm uninstall leaves nothing behind").
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			manifest = mustHelm(t, "get", "manifest", release, "--namespace", releaseNS)
			return ctx
		}).
		Assess("every object of the release is gone", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustHelm(t, "uninstall", release, "--namespace", releaseNS)
			// What the release installed, and anything else carrying its
			// label or helm's release record.
			eventually(t, 30*time.Second, func() error {
				left := mustKubectl(t, manifest, "get", "--ignore-not-found", "-o", "name", "-f", "-")
				left += mustKubectl(t, "", "get", "-A", "-l", "app.kubernetes.io/instance="+release, "-o", "name",
					"deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,ingresses,poddisruptionbudgets,"+
						"clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations,issuers,certificates")
				left += mustKubectl(t, "", "get", "secrets", "-n", releaseNS, "-l", "owner=helm,name="+release, "-o", "name")
				if strings.TrimSpace(left) != "" {
					return fmt.Errorf("left after uninstall:\n%s", left)
				}
				return nil
			})
			return ctx
		}).
		Assess("without the webhooks nothing is judged any more", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			eventually(t, 10*time.Second, func() error {
				if _, errOut, ok := kubectl(t, ingress(tenant, "evil.example.org"), "apply", "--dry-run=server", "-f", "-"); !ok {
					return fmt.Errorf("still denied: %s", errOut)
				}
				return nil
			})
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			kubectl(t, "", "delete", "namespace", tenant, "--wait=false")
			return ctx
		}).Feature()
}

func waitForIngressHost(ctx context.Context, t *testing.T, cfg *envconf.Config, host string) {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: tenant}}
	err := wait.For(conditions.New(cfg.Client().Resources()).ResourceMatch(ing, func(o k8s.Object) bool {
		i := o.(*networkingv1.Ingress)
		return len(i.Spec.Rules) == 1 && i.Spec.Rules[0].Host == host && i.Labels["app.kubernetes.io/managed-by"] == "devgate"
	}), wait.WithTimeout(30*time.Second), wait.WithInterval(200*time.Millisecond), wait.WithContext(ctx))
	if err != nil {
		t.Fatalf("the controller did not make Ingress web for %s: %v", host, err)
	}
}

func cookieSecret(ctx context.Context, t *testing.T) string {
	t.Helper()
	sec, err := s.clientset.CoreV1().Secrets(releaseNS).Get(ctx, release+"-auth-cookie", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Data["cookie-secret"]) < 48 {
		t.Fatalf("cookie secret is %d bytes, want 48", len(sec.Data["cookie-secret"]))
	}
	return string(sec.Data["cookie-secret"])
}

func service(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations: {dev.okteto.com/auto-ingress: "true"}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, tenant)
}

func ingress(namespace, host string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: steal, namespace: %s}
spec:
  rules:
  - host: %s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`, namespace, host)
}

func tokenSecret(ttl string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: ci-token, namespace: %s}
type: devgate.dev/token
stringData:
  token: Zq8vN3kLw2xR7tYp4mHc
  ttl: "%s"
`, tenant, ttl)
}
