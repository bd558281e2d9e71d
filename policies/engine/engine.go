// Package engine runs devgate's policies on raw objects: it decodes an object
// once into its typed form, runs the mutators or validators that handle its kind
// and operation, and computes the RFC 6902 patch of the mutation. The webhook and
// `devgate check` both call it; neither has a policy path of its own.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
)

// Input is one object under admission, in wire form.
type Input struct {
	Operation policies.Operation
	Kind      schema.GroupVersionKind
	// Namespace of the request; an object without metadata.namespace is in it.
	Namespace string
	Object    []byte // nil on DELETE
	OldObject []byte // nil on CREATE
	User      authenticationv1.UserInfo
}

// Output is the engine's answer for one object.
type Output struct {
	// Handled is false when no policy acts on this kind, operation or namespace:
	// the object passes untouched.
	Handled  bool
	Denials  field.ErrorList
	Warnings []string
	// Patch turns the input object into Object; empty when nothing changed.
	Patch []jsonpatch.Operation
	// Object is the object after mutation (nil on DELETE).
	Object client.Object
	// Stopped is the context's error when the engine stopped before it was
	// done (the review's deadline passed, or the caller went away); Denials
	// then holds the one denial that says so.
	Stopped error
}

// Allowed reports whether the object is admitted.
func (o *Output) Allowed() bool { return len(o.Denials) == 0 }

// Engine dispatches objects to the policies that handle them.
type Engine struct {
	list   []policies.Policy
	byKind map[schema.GroupVersionKind][]entry
}

type entry struct {
	policy policies.Policy
	rule   policies.Rule
}

// New builds an engine over the given policies.
func New(ps ...policies.Policy) *Engine {
	e := &Engine{list: ps, byKind: map[schema.GroupVersionKind][]entry{}}
	for _, p := range ps {
		for _, r := range p.Handles() {
			e.byKind[r.GroupVersionKind] = append(e.byKind[r.GroupVersionKind], entry{p, r})
		}
	}
	return e
}

// newObject returns an empty typed object for the kinds devgate handles.
func newObject(gvk schema.GroupVersionKind) client.Object {
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("Service"):
		return &corev1.Service{}
	case corev1.SchemeGroupVersion.WithKind("Secret"):
		return &corev1.Secret{}
	case corev1.SchemeGroupVersion.WithKind("ServiceAccount"):
		return &corev1.ServiceAccount{}
	case networkingv1.SchemeGroupVersion.WithKind("Ingress"):
		return &networkingv1.Ingress{}
	case corev1.SchemeGroupVersion.WithKind("Namespace"):
		return &corev1.Namespace{}
	case gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"):
		return &gatewayv1.HTTPRoute{}
	}
	return nil
}

// Mutate runs the mutators for in and returns the patch they produce.
func (e *Engine) Mutate(in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return e.MutateContext(context.Background(), in, cfg, lookup)
}

// Validate runs the validators for in.
func (e *Engine) Validate(in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return e.ValidateContext(context.Background(), in, cfg, lookup)
}

// Admit runs the mutators and then the validators on the mutated object, as the
// API server does with devgate's two webhooks.
func (e *Engine) Admit(in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return e.AdmitContext(context.Background(), in, cfg, lookup)
}

// MutateContext is Mutate that stops at ctx's end (the review's deadline)
// with a denial saying so (see Output.Stopped).
func (e *Engine) MutateContext(ctx context.Context, in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return finish(e.run(ctx, in, cfg, lookup, true, false))
}

// ValidateContext is Validate that stops at ctx's end.
func (e *Engine) ValidateContext(ctx context.Context, in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return finish(e.run(ctx, in, cfg, lookup, false, true))
}

// AdmitContext is Admit that stops at ctx's end.
func (e *Engine) AdmitContext(ctx context.Context, in Input, cfg *config.Config, lookup policies.Lookup) Output {
	return finish(e.run(ctx, in, cfg, lookup, true, true))
}

// stopped answers a review whose context ended before the engine was done:
// the object is denied, never admitted half-checked, and nothing of the
// policies' partial work (warnings, patch) goes out.
func stopped(ctx context.Context, out Output) Output {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	detail := "the object took too long to check: devgate stopped at the review's deadline (" + err.Error() + ")"
	if !errors.Is(err, context.DeadlineExceeded) {
		detail = "the review was cancelled before devgate finished checking the object (" + err.Error() + ")"
	}
	return Output{Handled: true, Stopped: err, Object: out.Object,
		Denials: field.ErrorList{field.Forbidden(field.NewPath(""), detail+"; retry, or write a smaller object")}}
}

// finish is what every answer goes through before it leaves the engine.
func finish(out Output) Output {
	out.Denials = shortened(out.Denials)
	return out
}

// run checks ctx between its steps (decoding, the caps, each policy, the
// patch): with the caps (limits.go) and linear policies no step is long, so
// a review stops soon after its deadline, and is never answered late by
// more than one step.
func (e *Engine) run(ctx context.Context, in Input, cfg *config.Config, lookup policies.Lookup, mutate, validate bool) Output {
	var out Output
	entries := e.byKind[in.Kind]
	if len(entries) == 0 {
		return out
	}
	if ctx.Err() != nil {
		return stopped(ctx, out)
	}
	if lookup == nil {
		lookup = policies.NoLookup{}
	}
	req := &policies.Request{Operation: in.Operation, User: in.User, Config: cfg, Lookup: lookup}
	var baseline runtime.Object
	lim := writtenLimits
	if !mutate {
		// Validation alone (the validating webhook) gets the object after
		// devgate's mutation, which may have added to it.
		lim = mutatedLimits
	}
	if in.Object != nil {
		// The one cap checked before decoding, which is what a huge object
		// costs most: on the raw bytes, in one pass.
		if sc, ok := prescan(in.Object); ok && sc.values > lim.values {
			ns := in.Namespace
			if v := sc.namespaceOf(); v != "" {
				ns = v
			}
			if cfg.Managed(ns) {
				return Output{Handled: true, Denials: tooManyValues(sc.values, lim.values)}
			}
		}
		obj, err := decode(in.Kind, in.Object, in.Namespace)
		if err != nil {
			out.Handled = true
			out.Denials = field.ErrorList{field.Invalid(field.NewPath(""), "", err.Error())}
			return out
		}
		req.Object = obj
		out.Object = obj
	}
	if in.OldObject != nil {
		old, err := decode(in.Kind, in.OldObject, in.Namespace)
		if err != nil {
			out.Handled = true
			out.Denials = field.ErrorList{field.Invalid(field.NewPath(""), "", "old object: "+err.Error())}
			return out
		}
		req.OldObject = old
	}
	ns := in.Namespace
	if o := objectMeta(req); o != nil && o.GetNamespace() != "" {
		ns = o.GetNamespace()
	}
	if !cfg.Managed(ns) {
		return out
	}
	if ctx.Err() != nil {
		return stopped(ctx, out)
	}
	// The other caps come before any policy work, and before the baseline
	// copy: an object beyond them costs its decoding and nothing else.
	if out.Object != nil {
		if errs := checkLimits(out.Object, lim); len(errs) > 0 {
			out.Handled = true
			out.Denials = errs
			return out
		}
	}
	if mutate && req.Object != nil {
		// The baseline is the typed object before mutation, so the patch holds
		// only what the mutators changed and never the typed form's own
		// normalisation (such as a null creationTimestamp). A deep copy costs a
		// fraction of encoding it, and most objects leave the mutators
		// unchanged and are never encoded at all.
		baseline = req.Object.DeepCopyObject()
	}
	for _, en := range entries {
		if !en.rule.Handles(in.Operation) {
			continue
		}
		if mutate && en.rule.Mutating {
			if m, ok := en.policy.(policies.Mutator); ok && req.Object != nil {
				if ctx.Err() != nil {
					return stopped(ctx, out)
				}
				out.Handled = true
				r := m.Mutate(req)
				out.Warnings = append(out.Warnings, r.Warnings...)
				out.Denials = append(out.Denials, r.Denials...)
			}
		}
	}
	if validate {
		for _, en := range entries {
			if !en.rule.Handles(in.Operation) || !en.rule.Validating {
				continue
			}
			if v, ok := en.policy.(policies.Validator); ok {
				if ctx.Err() != nil {
					return stopped(ctx, out)
				}
				out.Handled = true
				r := v.Validate(req)
				out.Warnings = append(out.Warnings, r.Warnings...)
				out.Denials = append(out.Denials, r.Denials...)
			}
		}
	}
	// createPatch finds nothing to do for an object the mutators left
	// unchanged, without encoding it.
	if ctx.Err() != nil {
		return stopped(ctx, out)
	}
	if baseline != nil {
		patch, err := createPatch(baseline, req.Object)
		if err != nil {
			out.Denials = append(out.Denials, field.InternalError(field.NewPath(""), err))
			return out
		}
		out.Patch = patch
	}
	return out
}

func objectMeta(req *policies.Request) metav1Object {
	if req.Object != nil {
		return req.Object.(metav1Object)
	}
	if req.OldObject != nil {
		return req.OldObject.(metav1Object)
	}
	return nil
}

type metav1Object interface {
	GetNamespace() string
	GetName() string
}

// Handles reports whether any policy acts on gvk at all.
func (e *Engine) Handles(gvk schema.GroupVersionKind) bool { return len(e.byKind[gvk]) > 0 }

// Policies returns the engine's policies in the order they were given.
func (e *Engine) Policies() []policies.Policy { return e.list }

// DenialMessage renders denials the way the API server renders an invalid
// object: it names the kind, the object and every field with its reason.
func DenialMessage(kind, namespace, name string, denials field.ErrorList) string {
	if name == "" {
		name = "(generated name)"
	}
	msgs := make([]string, 0, len(denials))
	for _, d := range denials {
		msgs = append(msgs, d.Error())
	}
	where := ""
	// The API server sends a Namespace's own name as the review's
	// namespace; "Namespace x in namespace x" would only confuse.
	if namespace != "" && !(kind == "Namespace" && namespace == name) {
		where = fmt.Sprintf(" in namespace %q", namespace)
	}
	return fmt.Sprintf("%s %q%s is invalid: %s", kind, name, where, strings.Join(msgs, "; "))
}
