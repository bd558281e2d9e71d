package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

// The tenant's application chart of examples/app, installed into its own
// namespace as a platform's users would.
const (
	appNS      = "e2e-app"
	appRelease = "shop"
	appToken   = "k3J9x-Qm7pL2vZ8w"
)

func appChartDir() string {
	return filepath.Join(filepath.Dir(filepath.Dir(chartDir())), "examples", "app")
}

// applicationChart installs examples/app through devgate: a private Service
// endpoint, an Ingress with a generated host and a token Secret.
func applicationChart() features.Feature {
	appArgs := func(verb string, extra ...string) []string {
		return append([]string{verb, appRelease, appChartDir(), "--namespace", appNS, "--set", "ciToken.value=" + appToken}, extra...)
	}
	return features.New("a tenant's Helm chart is installed through devgate").
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			mustKubectl(t, "", "create", "namespace", appNS)
			return ctx
		}).
		Assess("helm install --dry-run=server creates nothing", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustHelm(t, appArgs("install", "--dry-run=server")...)
			assertAppAbsent(ctx, t, cfg)
			return ctx
		}).
		Assess("the rendered chart through a server-side dry run shows devgate's mutations", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Helm's own --dry-run=server only reads the cluster; the objects
			// reach admission (and so show devgate's mutations) through
			// kubectl's server-side dry run of the rendered chart.
			rendered := mustHelm(t, appArgs("template")...)
			out := mustKubectl(t, rendered, "apply", "--namespace", appNS, "--dry-run=server", "-o", "yaml", "-f", "-")
			for _, want := range []string{
				"devgate.dev/endpoint: https://shop-api-" + appNS + "." + domain,
				"host: shop-docs-" + appNS + "." + domain,
				"devgate.dev/endpoints: https://shop-docs-" + appNS + "." + domain,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("server-side dry run lacks %q:\n%s", want, out)
				}
			}
			assertAppAbsent(ctx, t, cfg)
			return ctx
		}).
		Assess("helm install: the endpoints appear", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustHelm(t, appArgs("install", "--wait=false")...)
			r := cfg.Client().Resources(appNS)
			var svc corev1.Service
			if err := r.Get(ctx, "shop-api", appNS, &svc); err != nil {
				t.Fatal(err)
			}
			if got, want := svc.Annotations["devgate.dev/endpoint"], "https://shop-api-"+appNS+"."+domain; got != want {
				t.Errorf("Service shop-api: devgate.dev/endpoint = %q, want %q", got, want)
			}
			// The controller makes the private Ingress of the Service.
			generated := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop-api", Namespace: appNS}}
			err := wait.For(conditions.New(r).ResourceMatch(generated, func(o k8s.Object) bool {
				i := o.(*networkingv1.Ingress)
				return len(i.Spec.Rules) == 1 && i.Spec.Rules[0].Host == "shop-api-"+appNS+"."+domain &&
					i.Annotations["nginx.ingress.kubernetes.io/auth-url"] == "https://"+domain+"/auth/verify?namespace="+appNS
			}), wait.WithTimeout(30*time.Second), wait.WithInterval(200*time.Millisecond), wait.WithContext(ctx))
			if err != nil {
				t.Fatalf("no private Ingress shop-api: %v", err)
			}
			var docs networkingv1.Ingress
			if err := r.Get(ctx, "shop-docs", appNS, &docs); err != nil {
				t.Fatal(err)
			}
			host := "shop-docs-" + appNS + "." + domain
			if len(docs.Spec.Rules) != 1 || docs.Spec.Rules[0].Host != host ||
				len(docs.Spec.TLS) != 1 || len(docs.Spec.TLS[0].Hosts) != 1 || docs.Spec.TLS[0].Hosts[0] != host {
				t.Errorf("Ingress shop-docs: rules %+v, tls %+v; want host %s with its TLS entry", docs.Spec.Rules, docs.Spec.TLS, host)
			}
			var token corev1.Secret
			if err := r.Get(ctx, "shop-ci-token", appNS, &token); err != nil {
				t.Fatal(err)
			}
			if string(token.Data["user-id"]) == "" || string(token.Data["ttl"]) != "7776000000" {
				t.Errorf("token Secret: user-id %q, ttl %q; want the installer and maxTTL", token.Data["user-id"], token.Data["ttl"])
			}
			return ctx
		}).
		Assess("helm uninstall removes the release and its generated Ingress", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mustHelm(t, "uninstall", appRelease, "--namespace", appNS, "--wait")
			// The generated Ingress goes with its Service (garbage collection).
			eventually(t, 30*time.Second, func() error {
				var list networkingv1.IngressList
				if err := cfg.Client().Resources(appNS).List(ctx, &list); err != nil {
					return err
				}
				if len(list.Items) > 0 {
					return fmt.Errorf("%d Ingresses left, first %s", len(list.Items), list.Items[0].Name)
				}
				return nil
			})
			assertAppAbsent(ctx, t, cfg)
			return ctx
		}).Feature()
}

// assertAppAbsent fails the test when any of the application's objects exist.
func assertAppAbsent(ctx context.Context, t *testing.T, cfg *envconf.Config) {
	t.Helper()
	for name, obj := range map[string]k8s.Object{
		"shop-api": &corev1.Service{}, "shop-docs": &networkingv1.Ingress{}, "shop-ci-token": &corev1.Secret{},
	} {
		if err := cfg.Client().Resources().Get(ctx, name, appNS, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s/%s: %v, want NotFound", obj, appNS, name, err)
		}
	}
}
