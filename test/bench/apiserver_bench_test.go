package bench

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/devenv"
)

// Namespaces of the API-server benchmark: devgate's webhooks are called for
// one, a ValidatingAdmissionPolicy for another, nothing for the third.
const (
	nsNone     = "bench-none"
	nsDevgate  = "bench-devgate"
	nsCEL      = "bench-cel"
	nsAllowAll = "bench-allowall"
	nsAllowOne = "bench-allowone"
)

// The API server skips devgate's webhooks for the namespaces devgate does not
// manage (their namespaceSelector), so one control plane serves all three.
const apiserverBenchConfig = `apiVersion: devgate.dev/v1alpha1
kind: Config
domain: okteto.example.com
excludedNamespaces: [kube-system, kube-public, kube-node-lease, ` + nsNone + `, ` + nsCEL + `, ` + nsAllowAll + `, ` + nsAllowOne + `]
`

// ttlCheck is SPEC 5.1's TTL bound in CEL, run by the API server itself:
// the least an admission check on token Secrets can cost. CEL sees a
// Secret's data in its base64 wire form and this API server's CEL has no
// base64 decoding, so the check bounds the encoded value instead: base64 of
// at most 10 digits (7776000000 has 10) is at most 16 characters, and at 16
// ends in "==".
const ttlCheck = `object.type != 'devgate.dev/token' || (has(object.data) && 'ttl' in object.data &&
  object.data['ttl'].matches('^[A-Za-z0-9+/]+={0,2}$') &&
  (size(object.data['ttl']) < 16 || (size(object.data['ttl']) == 16 && object.data['ttl'].endsWith('=='))))`

// BenchmarkAPIServerCreate is the latency a create of a token Secret takes
// through a real kube-apiserver (the local control plane of `devgate dev`,
// devgate's server in this process) with no admission check, with devgate's
// webhooks (their match conditions leave the mutating one out for a token
// Secret that needs no defaults), with a ValidatingAdmissionPolicy doing the
// TTL check in-process, with an allow-all mutating and validating webhook
// (controller-runtime's, admitting everything) and with that validating
// webhook alone: what a pair of webhooks and what one webhook call cost the
// API server before any policy runs. Each
// iteration is one create in each namespace; they alternate so machine load
// falls on them alike. *-added-µs is the median over the median with no check.
func BenchmarkAPIServerCreate(b *testing.B) {
	cp, err := startControlPlane()
	if errors.Is(err, errNoAssets) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	lat := map[string][]time.Duration{}
	order := []string{nsNone, nsDevgate, nsCEL, nsAllowAll, nsAllowOne}
	handlerBefore := handlerSeconds(b)
	b.ResetTimer()
	for i := range b.N {
		// Rotate which goes first so none always follows the same one.
		for k := range order {
			ns := order[(i+k)%len(order)]
			d, err := cp.create(ns, "86400000")
			if err != nil {
				b.Fatal(err)
			}
			lat[ns] = append(lat[ns], d)
		}
	}
	b.StopTimer()
	// devgate's own time answering the reviews of a create, from its
	// review-duration histogram: what is left of devgate-added-µs is the API
	// server's webhook calls (encoding, TLS, HTTP/2, decoding) and scheduling.
	handler := (handlerSeconds(b) - handlerBefore) / float64(b.N)
	b.ReportMetric(handler*1e6, "devgate-handler-µs")
	median := map[string]time.Duration{}
	for ns, l := range lat {
		slices.Sort(l)
		median[ns] = l[len(l)/2]
		p99 := l[min(len(l)-1, len(l)*99/100)]
		b.ReportMetric(float64(median[ns].Microseconds()), ns[len("bench-"):]+"-p50-µs")
		b.ReportMetric(float64(p99.Microseconds()), ns[len("bench-"):]+"-p99-µs")
	}
	devAdded := median[nsDevgate] - median[nsNone]
	celAdded := median[nsCEL] - median[nsNone]
	b.ReportMetric(float64(devAdded.Microseconds()), "devgate-added-µs")
	b.ReportMetric(float64(celAdded.Microseconds()), "cel-added-µs")
	b.ReportMetric(float64((devAdded - celAdded).Microseconds()), "devgate-over-cel-µs")
	allowAdded := median[nsAllowAll] - median[nsNone]
	b.ReportMetric(float64(allowAdded.Microseconds()), "allowall-added-µs")
	b.ReportMetric(float64((devAdded - allowAdded).Microseconds()), "devgate-over-allowall-µs")
	oneAdded := median[nsAllowOne] - median[nsNone]
	b.ReportMetric(float64(oneAdded.Microseconds()), "allowone-added-µs")
	b.ReportMetric(float64((devAdded - oneAdded).Microseconds()), "devgate-over-allowone-µs")
	b.ReportMetric(0, "ns/op")
}

var errNoAssets = errors.New("needs the control-plane binaries: run `make tools` or set DEVGATE_ASSETS")

// controlPlane is the environment of BenchmarkAPIServerCreate, started once
// per process (devgate's controllers register process-wide names) and
// stopped by TestMain.
type controlPlane struct {
	env *devenv.Env
	dir string
	cs  kubernetes.Interface
	seq int
}

func (cp *controlPlane) stop() {
	_ = cp.env.Stop(context.Background())
	_ = os.RemoveAll(cp.dir)
}

var runningControlPlane *controlPlane

var startControlPlane = sync.OnceValues(func() (*controlPlane, error) {
	assets, err := controlplane.FindAssets()
	if err != nil {
		return nil, errNoAssets
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, errNoAssets
	}
	dir, err := os.MkdirTemp("", "devgate-bench-")
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(apiserverBenchConfig), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := devenv.Start(ctx, devenv.Options{ConfigPath: configPath, Dir: dir, AssetsDir: assets,
		Logger: logr.Discard(), WithoutControllerManager: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &controlPlane{env: env, dir: dir}
	runningControlPlane = cp
	cfg := rest.CopyConfig(env.ControlPlane.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: it would be what we measure
	cp.cs = kubernetes.NewForConfigOrDie(cfg)

	for _, ns := range []string{nsNone, nsDevgate, nsCEL, nsAllowAll, nsAllowOne} {
		_, err := cp.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{"devgate.dev/bench": ns}}}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
	}
	if err := installTTLPolicy(ctx, cp.cs); err != nil {
		return nil, err
	}
	if err := installAllowAllWebhooks(ctx, cp.cs); err != nil {
		return nil, err
	}
	// Both checks are in force before anything is timed: each denies a TTL
	// above 90 days, and admits one of a day.
	for _, ns := range []string{nsDevgate, nsCEL} {
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := cp.create(ns, "99999999999"); err != nil {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("a TTL above 90 days is admitted in %s", ns)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Warm up every path: connections, caches, the CEL program.
	for range 50 {
		for _, ns := range []string{nsNone, nsDevgate, nsCEL, nsAllowAll, nsAllowOne} {
			if _, err := cp.create(ns, "86400000"); err != nil {
				return nil, err
			}
		}
	}
	return cp, nil
})

// create creates a new token Secret in ns with the given TTL and returns how
// long the API server took to answer.
func (cp *controlPlane) create(ns, ttl string) (time.Duration, error) {
	cp.seq++
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("token-%d", cp.seq), Namespace: ns},
		Type:       "devgate.dev/token",
		Data: map[string][]byte{"token": fmt.Appendf(nil, "Zq3vT8pL0mX5rW2k-%d", cp.seq),
			"user-id": []byte("admin"), "ttl": []byte(ttl)},
	}
	t0 := time.Now()
	_, err := cp.cs.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{})
	return time.Since(t0), err
}

// installTTLPolicy binds a ValidatingAdmissionPolicy with the TTL check to
// the CEL namespace only.
func installTTLPolicy(ctx context.Context, cs kubernetes.Interface) error {
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "token-ttl"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
							Resources: []string{"secrets"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: ttlCheck,
				Message:    "ttl must be > 0 and <= 7776000000 ms",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "token-ttl"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "token-ttl",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"devgate.dev/bench": nsCEL}}},
		},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{})
	return err
}

// handlerSeconds is the total time devgate's webhooks in this process have
// spent answering reviews, from the devgate_admission_review_duration_seconds
// histogram.
func handlerSeconds(b *testing.B) float64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "devgate_admission_review_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return sum
}

// installAllowAllWebhooks starts the allow-all peer webhook (the one the
// webhook benchmark compares devgate with) and registers it for Secrets,
// mutating and validating in the allow-all namespace, validating alone in
// the allow-one namespace: what one webhook call costs. It runs until the
// process ends, like the control plane.
func installAllowAllWebhooks(ctx context.Context, cs kubernetes.Interface) error {
	cert, err := NewCert()
	if err != nil {
		return err
	}
	base, err := Serve(context.Background(), cert, AllowAllHandlers())
	if err != nil {
		return err
	}
	url := base + AllowPath
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.TLS.Certificate[0]})
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
	}}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"devgate.dev/bench": nsAllowAll}}
	validatingSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "devgate.dev/bench", Operator: metav1.LabelSelectorOpIn, Values: []string{nsAllowAll, nsAllowOne}}}}
	client := admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-allowall"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.allowall.bench", ClientConfig: client,
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: selector,
			AdmissionReviewVersions: []string{"v1"}}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-allowall"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "validate.allowall.bench", ClientConfig: client,
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: validatingSelector,
			AdmissionReviewVersions: []string{"v1"}}},
	}
	if _, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mutating, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err = cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, validating, metav1.CreateOptions{})
	return err
}
