// Package webhook serves devgate's policies as Kubernetes admission webhooks:
// /mutate for the mutating webhook and /validate for the validating one. The
// handlers only translate between AdmissionReviews and package engine, which
// runs the very policies `devgate check` runs.
package webhook

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// Paths of the two webhooks (SPEC 8).
const (
	MutatePath   = "/mutate"
	ValidatePath = "/validate"
)

// ConfigSource returns the configuration in force; it changes on reload.
type ConfigSource interface {
	Current() *config.Config
}

// Handler runs the engine's mutators or validators for one AdmissionRequest.
type Handler struct {
	Engine *engine.Engine
	Config ConfigSource
	Lookup policies.Lookup
	// Mutating selects the mutators (the /mutate webhook); otherwise the
	// validators run (the /validate webhook).
	Mutating bool
}

var _ admission.Handler = (*Handler)(nil)

// Handle implements admission.Handler.
// The engine stops at ctx's end (the Server gives it the review's deadline)
// and the object is then denied as too long to check.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	in := engine.Input{
		Operation: policies.Operation(req.Operation),
		Kind:      schema.GroupVersionKind(req.Kind),
		Namespace: req.Namespace,
		User:      req.UserInfo,
	}
	if req.Operation != admissionv1.Delete {
		in.Object = req.Object.Raw
	}
	if req.Operation != admissionv1.Create {
		in.OldObject = req.OldObject.Raw
	}
	if in.Operation != policies.Delete && len(in.Object) == 0 {
		return admission.Errored(http.StatusBadRequest, errNoObject)
	}
	if in.Operation == policies.Delete && len(in.OldObject) == 0 {
		// Without the stored object there is nothing to judge a DELETE on: the
		// API server always sends it, so only a malformed request lands here.
		return admission.Errored(http.StatusBadRequest, errNoOldObject)
	}
	if h.Engine.Handles(in.Kind) {
		if err := checkObject("request.object", in.Object, in.Kind); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if err := checkObject("request.oldObject", in.OldObject, in.Kind); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	cfg := h.Config.Current()
	var out engine.Output
	if h.Mutating {
		out = h.Engine.MutateContext(ctx, in, cfg, h.Lookup)
	} else {
		out = h.Engine.ValidateContext(ctx, in, cfg, h.Lookup)
	}
	if !out.Allowed() {
		resp := admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{
			Allowed: false,
			Result:  denialStatus(in.Kind, req.Namespace, req.Name, out.Denials, out.Stopped != nil),
		}}
		resp.Warnings = out.Warnings
		return resp
	}
	resp := admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: true}}
	if len(out.Patch) > 0 {
		pt := admissionv1.PatchTypeJSONPatch
		resp.PatchType = &pt
		resp.Patches = out.Patch
	}
	resp.Warnings = out.Warnings
	return resp
}
