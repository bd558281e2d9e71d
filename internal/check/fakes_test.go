package check

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// The unit tests run on this small policy set rather than on the real policies
// (policies/all), so that they test check and nothing else.

const (
	fakeMutatedAnnotation  = "fake.devgate.dev/mutated"
	fakeDenyLabel          = "fake.devgate.dev/deny"
	fakeGenerateAnnotation = "fake.devgate.dev/generate"
	fakeImmutableLabel     = "fake.devgate.dev/immutable"
)

var (
	secretGVK = corev1.SchemeGroupVersion.WithKind("Secret")
	saGVK     = corev1.SchemeGroupVersion.WithKind("ServiceAccount")
	createOps = []policies.Operation{policies.Create, policies.Update}
)

func rule(gvk schema.GroupVersionKind, mutating bool) policies.Rule {
	return policies.Rule{GroupVersionKind: gvk, Resource: strings.ToLower(gvk.Kind) + "s",
		Operations: createOps, Mutating: mutating, Validating: !mutating}
}

// fakeMutator adds an annotation to every Service, idempotently.
type fakeMutator struct{}

func (fakeMutator) Name() string             { return "fake-mutator" }
func (fakeMutator) Handles() []policies.Rule { return []policies.Rule{rule(serviceGVK, true)} }
func (fakeMutator) Mutate(req *policies.Request) policies.Result {
	obj := req.Object.(client.Object)
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[fakeMutatedAnnotation] = "yes"
	obj.SetAnnotations(a)
	return policies.Result{}
}

// fakeLabelDenier denies Services, Ingresses and Secrets labelled fakeDenyLabel,
// and Ingress UPDATEs that change fakeImmutableLabel.
type fakeLabelDenier struct{}

func (fakeLabelDenier) Name() string { return "fake-denier" }
func (fakeLabelDenier) Handles() []policies.Rule {
	return []policies.Rule{rule(serviceGVK, false), rule(ingressGVK, false), rule(secretGVK, false)}
}
func (fakeLabelDenier) Validate(req *policies.Request) policies.Result {
	var r policies.Result
	obj := req.Object.(client.Object)
	labels := field.NewPath("metadata", "labels")
	if v, ok := obj.GetLabels()[fakeDenyLabel]; ok {
		r.Denials = append(r.Denials, field.Invalid(labels.Key(fakeDenyLabel), v, "denied by label"))
	}
	if req.OldObject != nil {
		old := req.OldObject.(client.Object)
		if old.GetLabels()[fakeImmutableLabel] != obj.GetLabels()[fakeImmutableLabel] {
			r.Denials = append(r.Denials, field.Forbidden(labels.Key(fakeImmutableLabel), "immutable"))
		}
	}
	return r
}

// fakeRequester warns with what it was told of the request, on Secrets.
type fakeRequester struct{}

func (fakeRequester) Name() string             { return "fake-requester" }
func (fakeRequester) Handles() []policies.Rule { return []policies.Rule{rule(secretGVK, false)} }
func (fakeRequester) Validate(req *policies.Request) policies.Result {
	return policies.Result{Warnings: []string{fmt.Sprintf("op=%s user=%s groups=%s admin=%t old=%t",
		req.Operation, req.User.Username, strings.Join(req.User.Groups, ","), req.IsAdmin(), req.OldObject != nil)}}
}

// fakeTokenUnique denies a ServiceAccount whose token label another one carries.
type fakeTokenUnique struct{}

func (fakeTokenUnique) Name() string             { return "fake-token-unique" }
func (fakeTokenUnique) Handles() []policies.Rule { return []policies.Rule{rule(saGVK, false)} }
func (fakeTokenUnique) Validate(req *policies.Request) policies.Result {
	sa := req.Object.(*corev1.ServiceAccount)
	token, ok := sa.Labels[TokenLabel]
	if !ok {
		return policies.Result{}
	}
	self := sa.Namespace + "/" + sa.Name
	others := slices.DeleteFunc(req.Lookup.ServiceAccountsWithToken(token), func(s string) bool { return s == self })
	if len(others) == 0 {
		return policies.Result{}
	}
	return policies.Result{Denials: field.ErrorList{field.Duplicate(field.NewPath("metadata", "labels").Key(TokenLabel), strings.Join(others, ","))}}
}

// fakeGenerator generates an Ingress for a Service annotated
// fakeGenerateAnnotation, with an owner reference only when the Service has a
// uid, and with no TypeMeta, as typed objects built in Go usually are.
type fakeGenerator struct{}

func (fakeGenerator) Name() string             { return "fake-generator" }
func (fakeGenerator) Handles() []policies.Rule { return []policies.Rule{rule(serviceGVK, false)} }
func (fakeGenerator) Generate(obj runtime.Object, cfg *config.Config) ([]client.Object, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("fake generator handed a %T", obj)
	}
	host, ok := svc.Annotations[fakeGenerateAnnotation]
	if !ok {
		return nil, nil
	}
	if host == "fail" {
		return nil, fmt.Errorf("cannot build a host")
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{
		Name: svc.Name, Namespace: svc.Namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "devgate"},
	}}
	if svc.UID != "" {
		ing.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID}}
	}
	pathType := networkingv1.PathTypePrefix
	ing.Spec.Rules = []networkingv1.IngressRule{{Host: host + "." + cfg.Domain, IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
			Path: "/", PathType: &pathType,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc.Name, Port: networkingv1.ServiceBackendPort{Number: 80}}},
		}}}}}}
	return []client.Object{ing}, nil
}

func fakeEngine() *engine.Engine {
	return engine.New(fakeMutator{}, fakeLabelDenier{}, fakeRequester{}, fakeTokenUnique{}, fakeGenerator{})
}
