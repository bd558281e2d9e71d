package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// counter handles every kind the caps cover, in both webhooks, and counts
// the calls: a capped object must reach no policy.
type counter struct{ calls int }

func (c *counter) Name() string { return "counter" }
func (c *counter) Handles() []policies.Rule {
	var rules []policies.Rule
	for _, gvk := range []schema.GroupVersionKind{ingressKind, serviceKind, secretKind, saKind} {
		rules = append(rules, policies.Rule{GroupVersionKind: gvk, Operations: []policies.Operation{policies.Create, policies.Update, policies.Delete},
			Mutating: true, Validating: true})
	}
	return rules
}
func (c *counter) Mutate(*policies.Request) policies.Result   { c.calls++; return policies.Result{} }
func (c *counter) Validate(*policies.Request) policies.Result { c.calls++; return policies.Result{} }

var (
	ingressKind = networkingv1.SchemeGroupVersion.WithKind("Ingress")
	serviceKind = corev1.SchemeGroupVersion.WithKind("Service")
	saKind      = corev1.SchemeGroupVersion.WithKind("ServiceAccount")
)

func ingressWith(rules, paths, tls, tlsHosts int) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	for i := range rules {
		r := networkingv1.IngressRule{Host: fmt.Sprintf("h%d-alice.okteto.example.com", i)}
		if i == 3 {
			r.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: make([]networkingv1.HTTPIngressPath, paths)}
			for j := range r.HTTP.Paths {
				r.HTTP.Paths[j].Path = fmt.Sprintf("/p%d", j)
			}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, r)
	}
	for i := range tls {
		t := networkingv1.IngressTLS{SecretName: fmt.Sprintf("s%d", i)}
		if i == 2 {
			for j := range tlsHosts {
				t.Hosts = append(t.Hosts, fmt.Sprintf("t%d-alice.okteto.example.com", j))
			}
		}
		ing.Spec.TLS = append(ing.Spec.TLS, t)
	}
	return ing
}

func stringMap(n int, prefix string) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("%s%d", prefix, i)] = "v"
	}
	return m
}

func byteMap(n int) map[string][]byte {
	m := make(map[string][]byte, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = []byte("v")
	}
	return m
}

// annotatedService has annotations of exactly size bytes, keys and values.
func annotatedService(size int) *corev1.Service {
	const key = "example.com/big"
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{key: strings.Repeat("x", size-len(key))}}}
}

func raw(t testing.TB, obj runtime.Object) []byte {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCaps(t *testing.T) {
	svcPorts := func(n int) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Ports: make([]corev1.ServicePort, n)}}
	}
	for _, tc := range []struct {
		name     string
		kind     schema.GroupVersionKind
		atCap    runtime.Object
		beyond   runtime.Object
		field    string
		typ      field.ErrorType
		fragment string
	}{
		{"rules", ingressKind, ingressWith(engine.MaxIngressRules, 1, 0, 0), ingressWith(engine.MaxIngressRules+1, 1, 0, 0),
			"spec.rules", field.ErrorTypeTooMany, "must have at most 1000 items (devgate's cap on Ingress rules"},
		{"paths per rule", ingressKind, ingressWith(5, engine.MaxIngressPaths, 0, 0), ingressWith(5, engine.MaxIngressPaths+1, 0, 0),
			"spec.rules[3].http.paths", field.ErrorTypeTooMany, "must have at most 1000 items (devgate's cap on paths per Ingress rule"},
		{"TLS entries", ingressKind, ingressWith(1, 0, engine.MaxIngressTLS, 1), ingressWith(1, 0, engine.MaxIngressTLS+1, 1),
			"spec.tls", field.ErrorTypeTooMany, "must have at most 1000 items (devgate's cap on Ingress TLS entries"},
		{"hosts per TLS entry", ingressKind, ingressWith(1, 0, 3, engine.MaxIngressTLSHosts), ingressWith(1, 0, 3, engine.MaxIngressTLSHosts+1),
			"spec.tls[2].hosts", field.ErrorTypeTooMany, "must have at most 1000 items (devgate's cap on hosts per Ingress TLS entry"},
		{"Service ports", serviceKind, svcPorts(engine.MaxServicePorts), svcPorts(engine.MaxServicePorts + 1),
			"spec.ports", field.ErrorTypeTooMany, "must have at most 1000 items (devgate's cap on Service ports"},
		{"Secret data keys", secretKind,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: byteMap(engine.MaxSecretKeys)},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: byteMap(engine.MaxSecretKeys + 1)},
			"data", field.ErrorTypeTooMany, "must have at most 4096 items (devgate's cap on Secret keys"},
		{"Secret data and stringData keys", secretKind,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: byteMap(engine.MaxSecretKeys - 1), StringData: map[string]string{"x": "y"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: byteMap(engine.MaxSecretKeys), StringData: map[string]string{"x": "y"}},
			"data", field.ErrorTypeTooMany, "must have at most 4096 items"},
		{"Secret stringData keys", secretKind,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: stringMap(engine.MaxSecretKeys, "k")},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: stringMap(engine.MaxSecretKeys+1, "k")},
			"stringData", field.ErrorTypeTooMany, "must have at most 4096 items"},
		{"annotations", serviceKind,
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: stringMap(engine.MaxAnnotations, "example.com/a")}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: stringMap(engine.MaxAnnotations+1, "example.com/a")}},
			"metadata.annotations", field.ErrorTypeTooMany, "must have at most 500 items (devgate's cap on annotations"},
		{"annotation bytes", serviceKind, annotatedService(engine.MaxAnnotationBytes), annotatedService(engine.MaxAnnotationBytes + 1),
			"metadata.annotations", field.ErrorTypeTooLong, "hold 1048577 bytes: may not be more than 1048576 bytes (devgate's cap on annotation bytes"},
		{"labels", saKind,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Labels: stringMap(engine.MaxLabels, "l")}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Labels: stringMap(engine.MaxLabels+1, "l")}},
			"metadata.labels", field.ErrorTypeTooMany, "must have at most 500 items (devgate's cap on labels"},
		{"annotations of an Ingress", ingressKind,
			&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: stringMap(engine.MaxAnnotations, "a")}},
			&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: stringMap(engine.MaxAnnotations+1, "a")}},
			"metadata.annotations", field.ErrorTypeTooMany, "see docs/operations.md, \"Limits\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, admit := range []func(*engine.Engine, engine.Input) engine.Output{
				func(e *engine.Engine, in engine.Input) engine.Output { return e.Mutate(in, config.Default(), nil) },
				func(e *engine.Engine, in engine.Input) engine.Output { return e.Admit(in, config.Default(), nil) },
			} {
				c := &counter{}
				e := engine.New(c)
				in := engine.Input{Operation: policies.Create, Kind: tc.kind, Namespace: "alice", Object: raw(t, tc.atCap)}
				if out := admit(e, in); !out.Allowed() || c.calls == 0 {
					t.Fatalf("at the cap: denials %v, %d policy calls", out.Denials, c.calls)
				}
				c.calls = 0
				in.Object = raw(t, tc.beyond)
				out := admit(e, in)
				if c.calls != 0 {
					t.Fatalf("beyond the cap: the policy ran %d times", c.calls)
				}
				if !out.Handled || len(out.Denials) != 1 || len(out.Patch) != 0 {
					t.Fatalf("beyond the cap: handled %v, patch %v, denials %v", out.Handled, out.Patch, out.Denials)
				}
				d := out.Denials[0]
				if d.Field != tc.field || d.Type != tc.typ || !strings.Contains(d.Detail, tc.fragment) {
					t.Fatalf("beyond the cap: got %s %s %q, want %s %s containing %q", d.Field, d.Type, d.Detail, tc.field, tc.typ, tc.fragment)
				}
			}
		})
	}
}

// TestValidationAllowsForDevgatesMutation: the validating webhook gets the
// object after devgate's mutation, which adds annotations (the endpoints, a
// private endpoint's authentication), a TLS entry and TLS hosts: an object
// the mutating webhook admitted at the caps is not denied for them there,
// while one beyond the validating webhook's own caps still is.
func TestValidationAllowsForDevgatesMutation(t *testing.T) {
	eng := all.Engine()
	cfg := config.Default()
	for _, private := range []string{"true", "false"} {
		ing := &networkingv1.Ingress{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice", Annotations: stringMap(engine.MaxAnnotations-1, "example.com/a")},
		}
		ing.Annotations["dev.okteto.com/private"] = private
		for i := range engine.MaxIngressRules {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: fmt.Sprintf("h%d-alice.%s", i, cfg.Domain)})
		}
		// Full TLS entries, none for the rules' hosts: the mutation adds an
		// entry for them, or extends the one without Secret.
		for i := range engine.MaxIngressTLS {
			tls := networkingv1.IngressTLS{SecretName: fmt.Sprintf("s%d", i)}
			if i == 0 {
				tls.SecretName = ""
			}
			for j := range engine.MaxIngressTLSHosts {
				if i < 2 {
					tls.Hosts = append(tls.Hosts, fmt.Sprintf("t%d-%d-alice.%s", i, j, cfg.Domain))
				}
			}
			ing.Spec.TLS = append(ing.Spec.TLS, tls)
		}
		in := engine.Input{Operation: policies.Create, Kind: ingressKind, Namespace: "alice", Object: raw(t, ing)}
		out := eng.Mutate(in, cfg, nil)
		if !out.Allowed() || len(out.Patch) == 0 {
			t.Fatalf("private %s: mutation: %v", private, out.Denials)
		}
		mutated := out.Object.(*networkingv1.Ingress)
		if len(mutated.Annotations) <= engine.MaxAnnotations || len(mutated.Spec.TLS[0].Hosts) <= engine.MaxIngressTLSHosts {
			t.Fatalf("private %s: the mutation added no annotation or TLS host: %d annotations, %d hosts", private, len(mutated.Annotations), len(mutated.Spec.TLS[0].Hosts))
		}
		in.Object = raw(t, mutated)
		if out := eng.Validate(in, cfg, nil); !out.Allowed() {
			t.Fatalf("private %s: validation of the mutated object: %v", private, out.Denials)
		}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: stringMap(engine.MaxAnnotations+17, "example.com/a")}}
	out := engine.New(&counter{}).Validate(engine.Input{Operation: policies.Create, Kind: serviceKind, Namespace: "alice", Object: raw(t, svc)}, cfg, nil)
	if len(out.Denials) != 1 || !strings.Contains(out.Denials[0].Error(), "metadata.annotations: Too many: 517: must have at most 516 items") {
		t.Fatalf("validation beyond its caps: %v", out.Denials)
	}
}

// TestCapsLeaveTheOldObjectAlone: a stored object beyond a cap can still be
// deleted or shrunk; only the object written is held to the caps.
func TestCapsLeaveTheOldObjectAlone(t *testing.T) {
	c := &counter{}
	e := engine.New(c)
	big := raw(t, ingressWith(engine.MaxIngressRules+1, 1, 0, 0))
	out := e.Admit(engine.Input{Operation: policies.Delete, Kind: ingressKind, Namespace: "alice", OldObject: big}, config.Default(), nil)
	if !out.Allowed() || c.calls != 1 {
		t.Fatalf("DELETE: denials %v, %d calls", out.Denials, c.calls)
	}
	out = e.Admit(engine.Input{Operation: policies.Update, Kind: ingressKind, Namespace: "alice", OldObject: big,
		Object: raw(t, ingressWith(2, 1, 0, 0))}, config.Default(), nil)
	if !out.Allowed() {
		t.Fatalf("UPDATE to a small object: %v", out.Denials)
	}
}

// TestHugeGenerateHostIngressIsDeniedByTheCap is the Ingress of the issue:
// generate-host and 140,000 rules (about 3 MB, the API server's limit), which
// took 35 s in the mutation. The engine now denies it on the raw bytes, for
// its values count, without decoding it: it never reaches the mutation.
func TestHugeGenerateHostIngressIsDeniedByTheCap(t *testing.T) {
	ing := &networkingv1.Ingress{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "alice",
			Annotations: map[string]string{"dev.okteto.com/generate-host": "true"}},
	}
	for i := range 140_000 {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: fmt.Sprintf("h%d.example.org", i)})
		if i%10 == 0 {
			ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: []string{fmt.Sprintf("h%d.example.org", i)}})
		}
	}
	b := raw(t, ing)
	if len(b) < 3<<20 {
		t.Fatalf("the object is %d bytes, want the issue's 3 MB", len(b))
	}
	eng := all.Engine()
	for name, admit := range map[string]func(engine.Input) engine.Output{
		"mutate":   func(in engine.Input) engine.Output { return eng.Mutate(in, config.Default(), nil) },
		"validate": func(in engine.Input) engine.Output { return eng.Validate(in, config.Default(), nil) },
	} {
		out := admit(engine.Input{Operation: policies.Create, Kind: ingressKind, Namespace: "alice", Object: b})
		if len(out.Denials) != 1 || len(out.Patch) != 0 || len(out.Warnings) != 0 || out.Object != nil {
			t.Fatalf("%s: patch of %d operations, warnings %d, object decoded %v, denials %v", name, len(out.Patch), len(out.Warnings), out.Object != nil, out.Denials)
		}
		// Denied on the raw bytes, before decoding: 140,000 rules and their
		// hosts, 14,000 TLS entries, their hosts lists and hosts.
		want := "Too many: 322012: the object's JSON holds 322012 values (array elements and object members): must have at most 6"
		if d := out.Denials[0]; d.Field != field.NewPath("").String() || d.Type != field.ErrorTypeTooMany || !strings.Contains(d.Error(), want) {
			t.Fatalf("%s: denial = %q, want %q...", name, d.Error(), want)
		}
	}
}

// blocker is a policy whose mutation lasts until the review's deadline, as a
// policy stuck in a long loop would.
type blocker struct {
	ctx       context.Context
	validated bool
}

func (b *blocker) Name() string { return "blocker" }
func (b *blocker) Handles() []policies.Rule {
	return []policies.Rule{{GroupVersionKind: secretKind, Operations: []policies.Operation{policies.Create}, Mutating: true, Validating: true}}
}
func (b *blocker) Mutate(req *policies.Request) policies.Result {
	<-b.ctx.Done()
	req.Object.(*corev1.Secret).Labels = map[string]string{"late": "yes"}
	return policies.Result{Warnings: []string{"late"}}
}
func (b *blocker) Validate(*policies.Request) policies.Result {
	b.validated = true
	return policies.Result{}
}

func TestDeadlineStopsTheReview(t *testing.T) {
	in := engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "alice", Object: []byte(`{"metadata":{"name":"s"}}`)}
	t.Run("already expired", func(t *testing.T) {
		c := &counter{}
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		out := engine.New(c).AdmitContext(ctx, in, config.Default(), nil)
		if c.calls != 0 || out.Allowed() || !out.Handled || out.Stopped != context.DeadlineExceeded {
			t.Fatalf("calls %d, out %+v", c.calls, out)
		}
		if len(out.Denials) != 1 || !strings.Contains(out.Denials[0].Detail, "the object took too long to check: devgate stopped at the review's deadline") {
			t.Fatalf("denials %v", out.Denials)
		}
	})
	t.Run("passes during a policy", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		b := &blocker{ctx: ctx}
		out := engine.New(b).AdmitContext(ctx, in, config.Default(), nil)
		if b.validated || out.Allowed() || out.Stopped == nil || len(out.Patch) != 0 || len(out.Warnings) != 0 {
			t.Fatalf("validated %v, out %+v", b.validated, out)
		}
		if !strings.Contains(out.Denials[0].Detail, "took too long to check") {
			t.Fatalf("denials %v", out.Denials)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out := engine.New(&counter{}).ValidateContext(ctx, in, config.Default(), nil)
		if out.Allowed() || !strings.Contains(out.Denials[0].Detail, "the review was cancelled before devgate finished checking the object") {
			t.Fatalf("out %+v", out)
		}
	})
	t.Run("unhandled kinds pass whatever the deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out := engine.New(&counter{}).MutateContext(ctx, engine.Input{Operation: policies.Create, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Object: []byte(`{}`)}, config.Default(), nil)
		if !out.Allowed() || out.Handled {
			t.Fatalf("out %+v", out)
		}
	})
}

// valuesDoc is a Secret of exactly n values: metadata, its name (and
// namespace), and an array of n-3 (n-4) numbers the decoder ignores.
func valuesDoc(n int, namespace string) []byte {
	meta := `"metadata":{"name":"s"}`
	items := n - 3
	if namespace != "" {
		meta = `"metadata":{"name":"s","namespace":"` + namespace + `"}`
		items--
	}
	return []byte(`{` + meta + `,"padding":[0` + strings.Repeat(",0", items-1) + `]}`)
}

func TestValuesCap(t *testing.T) {
	c := &counter{}
	e := engine.New(c)
	in := engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: "alice", Object: valuesDoc(engine.MaxObjectValues, "")}
	if out := e.Mutate(in, config.Default(), nil); !out.Allowed() || c.calls != 1 {
		t.Fatalf("at the cap: %v, %d calls", out.Denials, c.calls)
	}
	for name, doc := range map[string][]byte{"": valuesDoc(engine.MaxObjectValues+1, ""), "own namespace": valuesDoc(engine.MaxObjectValues+1, "alice")} {
		c.calls = 0
		in.Object = doc
		out := e.Mutate(in, config.Default(), nil)
		if c.calls != 0 || out.Object != nil || len(out.Denials) != 1 || out.Denials[0].Type != field.ErrorTypeTooMany ||
			!strings.Contains(out.Denials[0].Detail, "the object's JSON holds 65537 values (array elements and object members): must have at most 65536 items (devgate's cap on values per object") {
			t.Fatalf("%s: beyond the cap: %d calls, decoded %v, %v", name, c.calls, out.Object != nil, out.Denials)
		}
	}
	// The validating webhook allows for the values devgate's mutation adds.
	in.Object = valuesDoc(engine.MaxObjectValues+1, "")
	if out := e.Validate(in, config.Default(), nil); !out.Allowed() {
		t.Fatalf("validation just beyond the cap of the mutation: %v", out.Denials)
	}
	// An unmanaged namespace, the request's or the object's, is not devgate's
	// to judge, however large its objects.
	for _, tc := range []struct{ request, object string }{{"kube-system", ""}, {"alice", "kube-system"}} {
		out := e.Mutate(engine.Input{Operation: policies.Create, Kind: secretKind, Namespace: tc.request, Object: valuesDoc(engine.MaxObjectValues+1, tc.object)}, config.Default(), nil)
		if out.Handled || !out.Allowed() {
			t.Fatalf("%+v: %v", tc, out.Denials)
		}
	}
	// A document prescan cannot read goes to the decoder, which says why.
	in.Object = append(valuesDoc(engine.MaxObjectValues+1, ""), '}')
	if out := e.Mutate(in, config.Default(), nil); len(out.Denials) != 1 || !strings.Contains(out.Denials[0].Detail, "cannot decode Secret") {
		t.Fatalf("malformed: %v", out.Denials)
	}
}
