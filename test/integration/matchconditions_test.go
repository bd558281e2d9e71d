package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/webhook"
)

// reviews returns how many admission reviews devgate's mutating and
// validating webhooks have answered in this process, from the
// devgate_admission_reviews_total counter.
func reviews(t *testing.T) (mutate, validate float64) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "devgate_admission_reviews_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch {
				case l.GetName() != "webhook":
				case l.GetValue() == "mutate":
					mutate += m.GetCounter().GetValue()
				case l.GetValue() == "validate":
					validate += m.GetCounter().GetValue()
				}
			}
		}
	}
	return mutate, validate
}

// skipsDevgate runs request until one run leaves the review count of each
// named webhook ("mutate", "validate") unchanged: proof that the request did
// not reach it, since a request that reaches devgate always counts. Other
// tests' leftovers (namespaces being deleted, the endpoint controller) may
// call devgate meanwhile; a run they disturb is repeated.
func skipsDevgate(t *testing.T, what string, request func() error, webhooks ...string) {
	t.Helper()
	var last string
	for range 30 {
		m0, v0 := reviews(t)
		if err := request(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		m1, v1 := reviews(t)
		delta := map[string]float64{"mutate": m1 - m0, "validate": v1 - v0}
		quiet := true
		for _, w := range webhooks {
			quiet = quiet && delta[w] == 0
		}
		if quiet {
			return
		}
		last = fmt.Sprintf("mutate +%v, validate +%v", delta["mutate"], delta["validate"])
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s reached devgate's %v webhook(s) in every one of 30 runs (last: %s)", what, webhooks, last)
}

// reachesValidateOnly runs request until a run adds exactly one validating
// review and no mutating one: the request reached /validate alone (a run
// another test's request disturbs is repeated).
func reachesValidateOnly(t *testing.T, what string, request func() error) {
	t.Helper()
	for range 30 {
		m0, v0 := reviews(t)
		if err := request(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		m1, v1 := reviews(t)
		if m1 == m0 && v1 == v0+1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: never saw exactly one validating review and no mutating one in 30 runs", what)
}

var dryRun = []string{metav1.DryRunAll}

// TestMatchConditionsAreRegistered: the configurations the API server holds
// carry the matchConditions the policies declare, and each policy's own
// condition compiles in the API server, including those that the union per
// resource leaves out (a condition subsumed by a rule without one).
func TestMatchConditionsAreRegistered(t *testing.T) {
	ctx := context.Background()
	adm := clientset.AdmissionregistrationV1()
	m, err := adm.MutatingWebhookConfigurations().Get(ctx, webhook.ConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := adm.ValidatingWebhookConfigurations().Get(ctx, webhook.ConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := webhook.MatchConditions(all.Policies(), true); len(want) == 0 || !reflect.DeepEqual(m.Webhooks[0].MatchConditions, want) {
		t.Errorf("registered mutating matchConditions %v, want %v", m.Webhooks[0].MatchConditions, want)
	}
	if want := webhook.MatchConditions(all.Policies(), false); len(want) == 0 || !reflect.DeepEqual(v.Webhooks[0].MatchConditions, want) {
		t.Errorf("registered validating matchConditions %v, want %v", v.Webhooks[0].MatchConditions, want)
	}

	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/never-called"
	probe := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "devgate-condition-check"},
	}
	for _, p := range all.Policies() {
		for i, r := range p.Handles() {
			if r.MatchCondition == "" {
				continue
			}
			probe.Webhooks = append(probe.Webhooks, admissionregistrationv1.ValidatingWebhook{
				Name:            fmt.Sprintf("r%d.%s.devgate.dev", i, p.Name()),
				ClientConfig:    admissionregistrationv1.WebhookClientConfig{URL: &url},
				MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "c", Expression: r.MatchCondition}},
				FailurePolicy:   &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			})
		}
	}
	if len(probe.Webhooks) < 5 {
		t.Fatalf("only %d policy rules declare a condition", len(probe.Webhooks))
	}
	if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, probe, metav1.CreateOptions{DryRun: dryRun}); err != nil {
		t.Fatalf("the API server rejects a policy's match condition: %v", err)
	}
}

// TestUnrelatedObjectsSkipDevgate: objects no policy can act on no longer
// cost a webhook call, nor depend on devgate being up.
func TestUnrelatedObjectsSkipDevgate(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "skip")
	core := clientset.CoreV1()

	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "helm-release", Namespace: ns},
		Data: map[string][]byte{"release": []byte("H4sIAAAA")}}
	// /mutate is skipped; /validate is not, on CREATE and UPDATE: a Secret of
	// any type may be listed in tokens.guardedSecrets.
	reachesValidateOnly(t, "creating an Opaque Secret", func() error {
		_, err := core.Secrets(ns).Create(ctx, opaque, metav1.CreateOptions{DryRun: dryRun})
		return err
	})
	if _, err := core.Secrets(ns).Create(ctx, opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	skipsDevgate(t, "deleting an Opaque Secret", func() error {
		return core.Secrets(ns).Delete(ctx, "helm-release", metav1.DeleteOptions{DryRun: dryRun})
	}, "mutate", "validate")
	basicAuth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns}, Type: corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{"username": []byte("ci"), "password": []byte("hunter2")}}
	skipsDevgate(t, "creating a basic-auth Secret", func() error {
		_, err := core.Secrets(ns).Create(ctx, basicAuth, metav1.CreateOptions{DryRun: dryRun})
		return err
	}, "mutate")

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns, Annotations: map[string]string{"team": "data"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}}}
	skipsDevgate(t, "creating a Service without auto-ingress", func() error {
		_, err := core.Services(ns).Create(ctx, svc, metav1.CreateOptions{DryRun: dryRun})
		return err
	}, "mutate", "validate")
	if _, err := core.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	skipsDevgate(t, "updating a Service without auto-ingress", func() error {
		_, err := core.Services(ns).Patch(ctx, "db", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"db"}}}`),
			metav1.PatchOptions{DryRun: dryRun})
		return err
	}, "mutate", "validate")

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: ns, Labels: map[string]string{"app": "ci"}}}
	skipsDevgate(t, "creating a ServiceAccount without token labels", func() error {
		_, err := core.ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{DryRun: dryRun})
		return err
	}, "mutate", "validate")
	if _, err := core.ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	skipsDevgate(t, "updating a ServiceAccount without token labels", func() error {
		_, err := core.ServiceAccounts(ns).Patch(ctx, "builder", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"cd"}}}`),
			metav1.PatchOptions{DryRun: dryRun})
		return err
	}, "mutate", "validate")
}

// TestTokenSecretsStillReachDevgate: every request a token policy acts on
// still reaches it through the matchConditions.
func TestTokenSecretsStillReachDevgate(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "tokenmatch")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	// Defaults: user-id and ttl missing, or present and empty.
	mustKubectl(t, tokenSecret(ns, "missing", strongToken, ""), as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: empty, namespace: %s}
type: devgate.dev/token
data: {token: %s, user-id: "", ttl: ""}
`, ns, b64(strongToken+"e")), as(asAlice, "apply", "-f", "-")...)
	for _, name := range []string{"missing", "empty"} {
		if got := secretData(t, ns, name, "user-id"); got != "alice" {
			t.Errorf("%s: user-id = %q, want the requester", name, got)
		}
		if got := secretData(t, ns, name, "ttl"); got != "7776000000" {
			t.Errorf("%s: ttl = %q, want maxTTL", name, got)
		}
	}
	// Nothing to fill in: /mutate is skipped, /validate still judges it.
	complete := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "complete", Namespace: ns}, Type: "devgate.dev/token",
		Data: map[string][]byte{"token": []byte(strongToken + "c"), "user-id": []byte("root"), "ttl": []byte("3600000")}}
	reachesValidateOnly(t, "creating a complete token Secret", func() error {
		_, err := clientset.CoreV1().Secrets(ns).Create(ctx, complete, metav1.CreateOptions{DryRun: dryRun})
		return err
	})

	// Denials on CREATE.
	mustFail(t, tokenSecret(ns, "weak", "password123", ""),
		[]string{invalid("Secret", "weak"), "data[token]"}, as(asAlice, "apply", "-f", "-")...)
	mustFail(t, tokenSecret(ns, "forbob", strongToken, "  user-id: bob\n"),
		[]string{invalid("Secret", "forbob"), "data[user-id]"}, as(asAlice, "apply", "-f", "-")...)

	// UPDATE and DELETE by a non-owner, and an UPDATE to another type.
	mustFail(t, "", []string{invalid("Secret", "missing"), "data[user-id]"},
		as(asBob, "-n", ns, "label", "secret", "missing", "x=y")...)
	mustFail(t, "", []string{invalid("Secret", "missing"), "data[user-id]"},
		as(asBob, "-n", ns, "delete", "secret", "missing")...)
	// The API server itself keeps a Secret's type; whoever denies it, the
	// token stays a token.
	mustFail(t, "", []string{"type"}, as(asAlice, "-n", ns, "patch", "secret", "missing", "-p", `{"type":"Opaque"}`)...)
	if s, err := clientset.CoreV1().Secrets(ns).Get(ctx, "missing", metav1.GetOptions{}); err != nil || s.Type != "devgate.dev/token" {
		t.Fatalf("token Secret after a type change: %v, %v", s, err)
	}
	mustKubectl(t, "", as(asAlice, "-n", ns, "delete", "secret", "missing")...)

	// OIDC connector and ServiceAccount token labels, added and removed.
	mustFail(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: github, namespace: %s}
type: devgate.dev/oidc-connector
stringData: {issuer: "https://issuer.example.com", client_id: devgate, client_secret: s3cr3t-value}
`, ns), []string{"data[redirect_uri]"}, "apply", "-f", "-")
	mustFail(t, fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: bot
  namespace: %s
  labels: {dev.okteto.com/external-id: "ext-1"}
`, ns), []string{"dev.okteto.com/external-id"}, as(asAlice, "apply", "-f", "-")...)
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: bot
  namespace: %s
  labels: {dev.okteto.com/external-id: "ext-1"}
`, ns), as(asIssuer, "apply", "-f", "-")...)
	mustFail(t, "", []string{"dev.okteto.com/external-id"}, as(asAlice, "-n", ns, "label", "serviceaccount", "bot", "dev.okteto.com/external-id-")...)
}

// TestServicesStillReachDevgate: every Service the Service policy acts on
// still reaches it: auto-ingress, its removal, a stale endpoint annotation,
// a LoadBalancer without the annotation.
func TestServicesStillReachDevgate(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "svcmatch")
	endpoint := func(name string) string {
		t.Helper()
		s, err := clientset.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Annotations["devgate.dev/endpoint"]
	}

	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	if got, want := endpoint("web"), "https://web-svcmatch.okteto.example.com"; got != want {
		t.Fatalf("endpoint annotation %q, want %q", got, want)
	}
	eventually(t, 30*time.Second, func() error { _, err := getIngress("web", ns); return err })
	// Removing auto-ingress reaches /mutate through the endpoint annotation,
	// which goes with it; the controller then deletes the Ingress.
	mustKubectl(t, "", "-n", ns, "annotate", "service", "web", "dev.okteto.com/auto-ingress-")
	if got := endpoint("web"); got != "" {
		t.Fatalf("endpoint annotation %q left after auto-ingress was removed", got)
	}
	eventually(t, 30*time.Second, func() error {
		if _, err := getIngress("web", ns); err == nil {
			return fmt.Errorf("Ingress web still there")
		}
		return nil
	})

	// A hand-written endpoint annotation alone is removed.
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: fake
  namespace: %s
  annotations: {devgate.dev/endpoint: "https://evil.example.com"}
spec:
  ports: [{name: http, port: 80}]
`, ns), "apply", "-f", "-")
	if got := endpoint("fake"); got != "" {
		t.Fatalf("hand-written endpoint annotation %q kept", got)
	}

	// A LoadBalancer without the annotation is converted, with an endpoint.
	mustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: shop, namespace: %s}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
`, ns), "apply", "-f", "-")
	s, err := clientset.CoreV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Type != corev1.ServiceTypeClusterIP || s.Annotations["devgate.dev/endpoint"] != "https://shop-svcmatch.okteto.example.com" {
		t.Fatalf("LoadBalancer Service: type %s, annotations %v", s.Spec.Type, s.Annotations)
	}

	// An invalid value is still denied, on CREATE and on UPDATE.
	mustFail(t, service(ns, "bad", "yes"), []string{invalid("Service", "bad"), "dev.okteto.com/auto-ingress"}, "apply", "-f", "-")
	out, errOut, ok := kubectl(t, "", "-n", ns, "annotate", "service", "shop", "dev.okteto.com/auto-ingress=yes", "--overwrite")
	if ok || !strings.Contains(errOut, invalid("Service", "shop")+": metadata.annotations[dev.okteto.com/auto-ingress]: Unsupported value") {
		t.Fatalf("annotating auto-ingress=yes: ok=%v %s%s", ok, out, errOut)
	}
}
