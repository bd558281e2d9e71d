package chartrender

import (
	"context"
	"encoding/base64"
	"reflect"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/webhook"
)

// A certificate authority's PEM is opaque to the chart: any bytes do.
var testCABundle = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

// source is one way of deploying devgate: the chart in one of its modes, or
// the kustomize default base.
type source struct {
	name     string
	render   func(context.Context) ([]byte, error)
	wantCC   webhook.ClientConfig
	ownNS    string // devgate's namespace, which the webhooks must skip
	cmName   string // the ConfigMap with devgate's configuration
	injectCA string // the cert-manager.io/inject-ca-from annotation, if any
}

func sources() []source {
	helm := func(args ...string) func(context.Context) ([]byte, error) {
		return func(ctx context.Context) ([]byte, error) { return Template(ctx, "devgate", "platform", args...) }
	}
	b64 := base64.StdEncoding.EncodeToString(testCABundle)
	return []source{{
		name:     "chart, cert-manager certificate",
		render:   helm(),
		wantCC:   webhook.ClientConfig{ServiceNamespace: "platform", ServiceName: "devgate", ServicePort: 443},
		ownNS:    "platform",
		cmName:   "devgate",
		injectCA: "platform/devgate-webhook",
	}, {
		name: "chart, user-supplied certificate",
		render: helm("--set", "webhook.certificate.source=secret", "--set", "webhook.certificate.secretName=my-tls",
			"--set", "webhook.caBundle="+b64, "--set", "config.excludedNamespaces={kube-public,sandbox}"),
		wantCC: webhook.ClientConfig{ServiceNamespace: "platform", ServiceName: "devgate", ServicePort: 443, CABundle: testCABundle},
		ownNS:  "platform",
		cmName: "devgate",
	}, {
		name:   "chart, webhook.url mode",
		render: helm("--set", "webhook.url=https://127.0.0.1:9443/", "--set", "webhook.caBundle="+b64),
		wantCC: webhook.ClientConfig{URL: "https://127.0.0.1:9443", CABundle: testCABundle},
		ownNS:  "platform",
		cmName: "devgate",
	}, {
		name: "chart, httproute mode",
		render: helm("--set", "config.endpoints.kind=httproute", "--set", "config.endpoints.gateway.namespace=gateways",
			"--set", "config.endpoints.gateway.name=public", "--set", "config.endpoints.authService.namespace=platform",
			"--set", "config.endpoints.authService.name=devgate-auth"),
		wantCC:   webhook.ClientConfig{ServiceNamespace: "platform", ServiceName: "devgate", ServicePort: 443},
		ownNS:    "platform",
		cmName:   "devgate",
		injectCA: "platform/devgate-webhook",
	}, {
		name:     "config/default (kustomize)",
		render:   func(ctx context.Context) ([]byte, error) { return Kustomize(ctx, "default") },
		wantCC:   webhook.ClientConfig{ServiceNamespace: "devgate", ServiceName: "devgate", ServicePort: 443},
		ownNS:    "devgate",
		cmName:   "devgate",
		injectCA: "devgate/devgate-webhook",
	}}
}

// TestWebhookConfigurationsMatchCode holds every deployment of devgate to the
// webhook configurations the code derives from the policies' declarations:
// the same rules (webhook.Rules) and matchConditions
// (webhook.MatchConditions), and the same failure policy, side effects,
// timeout and client configuration (webhook.Configurations). The namespaces
// skipped are kube-system, those the deployed configuration excludes, and
// devgate's own. The rules and matchConditions are generated (`make
// generate`, internal/manifestgen checks they are up to date); this test
// proves what helm and kustomize render from them: the chart's templates
// include them in the right place, in every mode.
func TestWebhookConfigurationsMatchCode(t *testing.T) {
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			objs := render(t, src.render)
			gotM, gotV, err := Webhooks(objs)
			if err != nil {
				t.Fatal(err)
			}
			// The policies the deployed configuration registers: HTTPRoutes
			// only with endpoints.kind httproute.
			cfg := parseConfig(t, objs, src.cmName)
			ps := all.Registered(cfg)
			if want := webhook.Rules(ps, true); !reflect.DeepEqual(gotM.Webhooks[0].Rules, want) {
				t.Errorf("mutating rules differ from webhook.Rules(ps, true):\ngot:\n%s\nwant:\n%s", toYAML(gotM.Webhooks[0].Rules), toYAML(want))
			}
			if want := webhook.Rules(ps, false); !reflect.DeepEqual(gotV.Webhooks[0].Rules, want) {
				t.Errorf("validating rules differ from webhook.Rules(ps, false):\ngot:\n%s\nwant:\n%s", toYAML(gotV.Webhooks[0].Rules), toYAML(want))
			}
			// The matchConditions, expression for expression, white space
			// included: the API server calls devgate only when they hold.
			if want := webhook.MatchConditions(ps, true); len(want) == 0 || !reflect.DeepEqual(gotM.Webhooks[0].MatchConditions, want) {
				t.Errorf("mutating matchConditions differ from webhook.MatchConditions(ps, true):\ngot:\n%s\nwant:\n%s", toYAML(gotM.Webhooks[0].MatchConditions), toYAML(want))
			}
			if want := webhook.MatchConditions(ps, false); len(want) == 0 || !reflect.DeepEqual(gotV.Webhooks[0].MatchConditions, want) {
				t.Errorf("validating matchConditions differ from webhook.MatchConditions(ps, false):\ngot:\n%s\nwant:\n%s", toYAML(gotV.Webhooks[0].MatchConditions), toYAML(want))
			}

			excluded := slices.Compact(slices.Sorted(slices.Values(append([]string{"kube-system", src.ownNS}, cfg.ExcludedNamespaces...))))
			wantM, wantV := webhook.Configurations(ps, src.wantCC, excluded)
			sortSelector(gotM.Webhooks[0].NamespaceSelector.MatchExpressions)
			sortSelector(gotV.Webhooks[0].NamespaceSelector.MatchExpressions)
			if !reflect.DeepEqual(gotM.Webhooks, wantM.Webhooks) {
				t.Errorf("mutating webhook differs from webhook.Configurations:\ngot:\n%s\nwant:\n%s", toYAML(gotM.Webhooks), toYAML(wantM.Webhooks))
			}
			if !reflect.DeepEqual(gotV.Webhooks, wantV.Webhooks) {
				t.Errorf("validating webhook differs from webhook.Configurations:\ngot:\n%s\nwant:\n%s", toYAML(gotV.Webhooks), toYAML(wantV.Webhooks))
			}

			for _, ann := range []map[string]string{gotM.Annotations, gotV.Annotations} {
				if got := ann["cert-manager.io/inject-ca-from"]; got != src.injectCA {
					t.Errorf("cert-manager.io/inject-ca-from = %q, want %q", got, src.injectCA)
				}
			}
			hasRoutes := slices.ContainsFunc(gotV.Webhooks[0].Rules, func(r admissionregistrationv1.RuleWithOperations) bool {
				return slices.Contains(r.Resources, "httproutes")
			})
			if hasRoutes != cfg.HTTPRoutes() {
				t.Errorf("the validating webhook registers HTTPRoutes: %v, with endpoints.kind %q", hasRoutes, cfg.Endpoints.Kind)
			}
			if src.injectCA != "" {
				if Find(objs, "Certificate", src.injectCA[len(src.ownNS)+1:]) == nil {
					t.Errorf("inject-ca-from names %s, but no such Certificate is rendered", src.injectCA)
				}
			}
		})
	}
}

func sortSelector(exprs []metav1.LabelSelectorRequirement) {
	for i := range exprs {
		slices.Sort(exprs[i].Values)
	}
}

func render(t *testing.T, fn func(context.Context) ([]byte, error)) []*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := fn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// parseConfig reads the deployed configuration file the way devgate does:
// strictly, so an unknown field in the chart's or config/'s file fails here.
func parseConfig(t *testing.T, objs []*unstructured.Unstructured, name string) *config.Config {
	t.Helper()
	data, err := ConfigFile(objs, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatalf("devgate rejects the deployed configuration: %v\n%s", err, data)
	}
	return cfg
}

func toYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(out)
}
