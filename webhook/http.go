package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"devgate.dev/devgate/policies/pooledjson"
)

// MaxRequestBytes bounds an AdmissionReview. The API server caps a request at
// 3 MiB (its --max-request-bytes) and a review carries the object and, on
// UPDATE, the old object, so twice that and 1 MiB for the envelope (the
// request's user, kind and options) is the most a real review can need. A
// larger body is answered 413 before it is read; reviews over
// LargeReviewBytes are bounded in number besides (inflight.go).
const MaxRequestBytes = 7 << 20

var (
	errNoObject    = errors.New("the AdmissionReview's request has no object")
	errNoOldObject = errors.New("the AdmissionReview's DELETE request has no oldObject")
)

// Server turns HTTP requests into AdmissionReviews for a Handler. Unlike
// controller-runtime's admission.Webhook it answers malformed reviews with an
// HTTP error status (SPEC 8) and recovers from panics, counting them.
type Server struct {
	Handler admission.Handler
	// Name labels the metrics: "mutate" or "validate".
	Name string
	// BodyTimeout bounds reading the request body; zero means
	// DefaultBodyTimeout. A client that stalls gets 408 instead of holding
	// the handler forever.
	BodyTimeout time.Duration
	// Limiter bounds the reviews in flight; nil means the process's default
	// Limiter (DefaultMaxInFlight, DefaultMaxLargeInFlight), shared by every
	// Server without one.
	Limiter *Limiter

	// gauge is the in-flight gauge of Name, looked up once.
	gauge atomic.Pointer[prometheus.Gauge]
}

// inFlightGauge is devgate_admission_reviews_in_flight for s.Name.
func (s *Server) inFlightGauge() prometheus.Gauge {
	if g := s.gauge.Load(); g != nil {
		return *g
	}
	g := inFlight.WithLabelValues(s.Name)
	s.gauge.Store(&g)
	return g
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timer := newRequestTimer(s.Name)
	defer func() {
		if p := recover(); p != nil {
			panicsTotal.WithLabelValues(s.Name).Inc()
			log.FromContext(r.Context()).Error(fmt.Errorf("%v", p), "panic while handling an admission review", "webhook", s.Name, "stack", string(debug.Stack()))
			httpError(w, http.StatusInternalServerError, "internal error while handling the admission review")
			timer.done("error")
		}
	}()
	if r.Method != http.MethodPost {
		httpError(w, http.StatusMethodNotAllowed, "only POST is supported")
		timer.done("bad_request")
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		httpError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q is not supported, only application/json", ct))
		timer.done("bad_request")
		return
	}
	// A declared length over the limit is refused before any byte is read.
	if r.ContentLength > MaxRequestBytes {
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, MaxRequestBytes))
		timer.done("bad_request")
		return
	}
	// From here on the review counts against the replica's bounds, and
	// everything, the wait for a slot included, ends at its deadline.
	ctx, cancel := context.WithDeadline(r.Context(), reviewDeadline(r, timer.start))
	defer cancel()
	lim := s.Limiter
	if lim == nil {
		lim = defaultLimiter
	}
	// A small review waits for a slot before its body is read; a large one
	// (declared) only takes one if it is free: see inflight.go for why.
	gotSlot := false
	if r.ContentLength > LargeReviewBytes {
		gotSlot = tryAcquire(lim.slots)
	} else {
		gotSlot = acquire(ctx, lim.slots)
	}
	if !gotSlot {
		busy(w, strconv.Itoa(cap(lim.slots))+" admission reviews in flight, and none finished before the review's deadline")
		timer.done("busy")
		return
	}
	defer release(lim.slots)
	gauge := s.inFlightGauge()
	gauge.Inc()
	defer gauge.Dec()
	var body *bytes.Buffer
	if r.ContentLength > LargeReviewBytes {
		body = getLargeBodyBuffer()
		defer putLargeBodyBuffer(body)
	} else {
		body = getBodyBuffer()
		defer putBodyBuffer(body)
	}
	reserved, err := s.readBody(w, r, body, lim)
	defer lim.unreserve(reserved)
	if err != nil {
		if errors.Is(err, errLargeBodies) {
			busy(w, fmt.Sprintf("the bodies of the large admission reviews (over %d KiB) in flight hold %d MiB", LargeReviewBytes>>10, lim.bodyBudget>>20))
			timer.done("busy")
			return
		}
		code, msg := bodyError(err)
		httpError(w, code, msg)
		timer.done("bad_request")
		return
	}
	if reserved > 0 {
		// A large review, read: it waits its turn to be decoded. Its slot
		// stays taken, after the answer, for largeCooldown times as long as
		// it was held: large reviews together keep at most about a fifth of
		// a core busy,
		// however fast a client sends them, and the small ones the rest.
		if !acquire(ctx, lim.large) {
			busy(w, fmt.Sprintf("%d large admission reviews (over %d KiB) are checked at once, and none finished before the review's deadline", cap(lim.large), LargeReviewBytes>>10))
			timer.done("busy")
			return
		}
		took := time.Now()
		defer func() { time.AfterFunc(largeCooldown*time.Since(took), func() { release(lim.large) }) }()
	}
	review, err := DecodeReview(body.Bytes())
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		timer.done("bad_request")
		return
	}
	resp := s.Handler.Handle(ctx, admission.Request{AdmissionRequest: *review.Request})
	if resp.Result != nil && resp.Result.Code == http.StatusBadRequest {
		httpError(w, http.StatusBadRequest, resp.Result.Message)
		timer.done("bad_request")
		return
	}
	if err := complete(&resp, review.Request); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		timer.done("error")
		return
	}
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: &resp.AdmissionResponse}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		log.FromContext(r.Context()).Error(err, "cannot write the admission response", "webhook", s.Name)
	}
	outcome := "allowed"
	switch {
	case !resp.Allowed:
		outcome = "denied"
	case len(resp.Patch) > 0:
		outcome = "mutated"
	}
	timer.done(outcome)
	// One debug line per review: `devgate dev` shows every admission, a
	// production server (info level) pays only for the Enabled check.
	if l := log.FromContext(r.Context()).V(1); l.Enabled() {
		req := review.Request
		l.Info("admission review", "webhook", s.Name, "outcome", outcome, "operation", req.Operation,
			"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "user", req.UserInfo.Username)
	}
}

// reviewAPIVersion is admissionv1.SchemeGroupVersion.String(), which builds
// the string anew on every call.
const reviewAPIVersion = "admission.k8s.io/v1"

// DecodeReview parses an admission.k8s.io/v1 AdmissionReview with a request.
// Anything else is an error that says what is wrong with it.
func DecodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty request body: expected an admission.k8s.io/v1 AdmissionReview")
	}
	review := &admissionv1.AdmissionReview{}
	if err := pooledjson.Standard.Unmarshal(body, review); err != nil {
		return nil, fmt.Errorf("malformed AdmissionReview: %v", err)
	}
	if review.APIVersion != reviewAPIVersion || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("expected apiVersion %q and kind \"AdmissionReview\", got %q and %q",
			reviewAPIVersion, review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return nil, errors.New("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, errors.New("the AdmissionReview's request has no uid")
	}
	return review, nil
}

// complete is resp.Complete(req) with the patch encoded as encoding/json
// encodes a []jsonpatch.Operation, byte for byte, at a fraction of the cost:
// Complete marshals every operation through its MarshalJSON, which marshals
// it alone and has the outer encoder parse and copy the result again.
func complete(resp *admission.Response, req *admissionv1.AdmissionRequest) error {
	if len(resp.Patches) > 0 {
		patch, err := marshalPatch(resp.Patches)
		if err != nil {
			return err
		}
		resp.Patch = patch
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			pt := admissionv1.PatchTypeJSONPatch
			resp.PatchType = &pt
		}
		resp.Patches = nil // encoded: Complete leaves Patch and PatchType alone
	}
	return resp.Complete(admission.Request{AdmissionRequest: *req})
}

// patchOperation is jsonpatch.Operation without its MarshalJSON.
type patchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// jsonNull stands for a nil value that must still be written, as null.
var jsonNull = json.RawMessage("null")

// marshalPatch encodes ops as json.Marshal does through
// jsonpatch.Operation.MarshalJSON: an add or replace of nil writes
// "value":null, any other operation without a value leaves it out.
func marshalPatch(ops []jsonpatch.Operation) ([]byte, error) {
	list := make([]patchOperation, len(ops))
	for i, op := range ops {
		list[i] = patchOperation{Op: op.Operation, Path: op.Path, Value: op.Value}
		if op.Value == nil && (op.Operation == "add" || op.Operation == "replace") {
			list[i].Value = jsonNull
		}
	}
	return json.Marshal(list)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	http.Error(w, msg, code)
}
