package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// labelPolicy is a stand-in policy: it labels Services on /mutate and denies
// Services labelled deny=yes on /validate, so these tests exercise the HTTP
// layer without depending on the real policies.
type labelPolicy struct{}

func (labelPolicy) Name() string { return "test-label" }
func (labelPolicy) Handles() []policies.Rule {
	return []policies.Rule{{
		GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Service"), Resource: "services",
		Operations: []policies.Operation{policies.Create, policies.Update}, Mutating: true, Validating: true,
	}}
}
func (labelPolicy) Mutate(req *policies.Request) policies.Result {
	svc := req.Object.(*corev1.Service)
	if svc.Labels == nil {
		svc.Labels = map[string]string{}
	}
	svc.Labels["seen"] = "yes"
	return policies.Result{Warnings: []string{"labelled"}}
}
func (labelPolicy) Validate(req *policies.Request) policies.Result {
	svc := req.Object.(*corev1.Service)
	if svc.Labels["deny"] == "yes" {
		return policies.Result{Denials: field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels").Key("deny"), "denied by test")}}
	}
	return policies.Result{}
}

func newTestServer(mutating bool) *Server {
	h := &Handler{Engine: engine.New(labelPolicy{}), Config: configsource.Static(config.Default()), Mutating: mutating}
	name := "validate"
	if mutating {
		name = "mutate"
	}
	return &Server{Handler: h, Name: name}
}

func review(t *testing.T, op admissionv1.Operation, kind metav1.GroupVersionKind, obj runtime.Object) []byte {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: "uid-1", Kind: kind, Operation: op, Namespace: "alice", Name: "web"}
	if obj != nil {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		req.Object = runtime.RawExtension{Raw: raw}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var serviceKind = metav1.GroupVersionKind{Version: "v1", Kind: "Service"}

func post(s *Server, body []byte, contentType string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	s.ServeHTTP(rec, r)
	return rec
}

func decodeResponse(t *testing.T, rec *httptest.ResponseRecorder) *admissionv1.AdmissionResponse {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Response == nil || out.Response.UID != "uid-1" {
		t.Fatalf("response without the request's uid: %s", rec.Body)
	}
	return out.Response
}

func TestMalformedReviewsGetHTTPErrors(t *testing.T) {
	valid := review(t, admissionv1.Create, serviceKind, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}})
	cases := []struct {
		name        string
		body        []byte
		contentType string
		wantStatus  int
		wantMessage string
	}{
		{"empty body", nil, "application/json", http.StatusBadRequest, "empty request body"},
		{"not JSON", []byte("hello"), "application/json", http.StatusBadRequest, "malformed AdmissionReview"},
		{"JSON array", []byte("[]"), "application/json", http.StatusBadRequest, "malformed AdmissionReview"},
		{"v1beta1 review", bytes.Replace(valid, []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1), "application/json", http.StatusBadRequest, "expected apiVersion"},
		{"other kind", bytes.Replace(valid, []byte(`"kind":"AdmissionReview"`), []byte(`"kind":"Pod"`), 1), "application/json", http.StatusBadRequest, "expected apiVersion"},
		{"no request", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), "application/json", http.StatusBadRequest, "has no request"},
		{"no uid", bytes.Replace(valid, []byte(`"uid":"uid-1"`), []byte(`"uid":""`), 1), "application/json", http.StatusBadRequest, "has no uid"},
		{"no object", review(t, admissionv1.Create, serviceKind, nil), "application/json", http.StatusBadRequest, "has no object"},
		{"object not a JSON object", withObject(t, valid, `[1]`), "application/json", http.StatusBadRequest, "request.object is not a JSON object"},
		{"object of another kind", withObject(t, valid, `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"}}`), "application/json", http.StatusBadRequest, `request.object is networking.k8s.io/v1 "Ingress" but request.kind is v1 "Service"`},
		{"object without metadata", withObject(t, valid, `{"apiVersion":"v1","kind":"Service","spec":{}}`), "application/json", http.StatusBadRequest, "request.object.metadata is missing"},
		{"object with null metadata", withObject(t, valid, `{"metadata":null}`), "application/json", http.StatusBadRequest, "request.object.metadata is missing"},
		{"content type with charset", valid, "application/json; charset=utf-8", http.StatusOK, `"allowed":true`},
		{"wrong content type", valid, "text/plain", http.StatusUnsupportedMediaType, "content type"},
		{"too large", append(valid, bytes.Repeat([]byte(" "), MaxRequestBytes)...), "application/json", http.StatusRequestEntityTooLarge, "exceeds the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(newTestServer(false), tc.body, tc.contentType)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantMessage) {
				t.Fatalf("body %q does not say %q", rec.Body, tc.wantMessage)
			}
		})
	}
}

// withObject replaces the request's object of a review built by review().
func withObject(t *testing.T, body []byte, object string) []byte {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	r["request"].(map[string]any)["object"] = json.RawMessage(object)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOldObjectWithoutMetadataIsBadRequest(t *testing.T) {
	body := review(t, admissionv1.Update, serviceKind, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}})
	body = bytes.Replace(body, []byte(`"operation":"UPDATE"`), []byte(`"operation":"UPDATE","oldObject":{"spec":{}}`), 1)
	rec := post(newTestServer(false), body, "application/json")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "request.oldObject.metadata is missing") {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestOnlyPOST(t *testing.T) {
	rec := httptest.NewRecorder()
	newTestServer(false).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/validate", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status = %d", rec.Code)
	}
}

func TestWrongObjectForKindIsDenied(t *testing.T) {
	// The request says Service but the object is not one: the engine cannot
	// decode it and denies, naming the problem, instead of crashing.
	body := review(t, admissionv1.Create, serviceKind, nil)
	body = bytes.Replace(body, []byte(`"operation":"CREATE"`), []byte(`"operation":"CREATE","object":{"metadata":{"name":"web"},"spec":"not-an-object"}`), 1)
	resp := decodeResponse(t, post(newTestServer(false), body, "application/json"))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "cannot decode Service") {
		t.Fatalf("response = %+v", resp)
	}
}

func TestUnhandledKindPassesUntouched(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	resp := decodeResponse(t, post(newTestServer(true), review(t, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, pod), "application/json"))
	if !resp.Allowed || resp.Patch != nil || resp.Warnings != nil {
		t.Fatalf("response = %+v", resp)
	}
}

func TestMutateAnswersWithJSONPatchAndWarnings(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	resp := decodeResponse(t, post(newTestServer(true), review(t, admissionv1.Create, serviceKind, svc), "application/json"))
	if !resp.Allowed || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("response = %+v", resp)
	}
	want := `[{"op":"add","path":"/metadata/labels","value":{"seen":"yes"}}]`
	if string(resp.Patch) != want {
		t.Fatalf("patch = %s, want %s", resp.Patch, want)
	}
	if len(resp.Warnings) != 1 || resp.Warnings[0] != "labelled" {
		t.Fatalf("warnings = %v", resp.Warnings)
	}
}

func TestValidateDenialNamesObjectAndField(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"deny": "yes"}}}
	resp := decodeResponse(t, post(newTestServer(false), review(t, admissionv1.Create, serviceKind, svc), "application/json"))
	if resp.Allowed {
		t.Fatal("allowed")
	}
	want := `Service "web" in namespace "alice" is invalid: metadata.labels[deny]: Forbidden: denied by test`
	if resp.Result.Message != want || resp.Result.Code != http.StatusUnprocessableEntity {
		t.Fatalf("result = %d %q, want %q", resp.Result.Code, resp.Result.Message, want)
	}
	// The API server's own form of an invalid object: kubectl prints the
	// causes one per line, and tools read field, type and detail from them.
	wantDetails := &metav1.StatusDetails{Kind: "Service", Name: "web", Causes: []metav1.StatusCause{{
		Type: metav1.CauseTypeForbidden, Field: "metadata.labels[deny]", Message: "Forbidden: denied by test",
	}}}
	if resp.Result.Reason != metav1.StatusReasonInvalid || !reflect.DeepEqual(resp.Result.Details, wantDetails) {
		t.Fatalf("reason %q, details %+v, want Invalid and %+v", resp.Result.Reason, resp.Result.Details, wantDetails)
	}
	// As the API server relays it, the answer is an Invalid error for
	// apierrors, with the causes intact.
	err := &apierrors.StatusError{ErrStatus: *resp.Result}
	if !apierrors.IsInvalid(err) || len(err.Status().Details.Causes) != 1 {
		t.Fatalf("apierrors sees %v", err)
	}
}

func TestUnmanagedNamespacePassesUntouched(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "kube-system", Labels: map[string]string{"deny": "yes"}}}
	body := review(t, admissionv1.Create, serviceKind, svc)
	body = bytes.Replace(body, []byte(`"namespace":"alice"`), []byte(`"namespace":"kube-system"`), 1)
	for _, mutating := range []bool{true, false} {
		resp := decodeResponse(t, post(newTestServer(mutating), body, "application/json"))
		if !resp.Allowed || resp.Patch != nil {
			t.Fatalf("mutating=%v: response = %+v", mutating, resp)
		}
	}
}

// panicPolicy panics on every call: the server must answer 500 and count it.
type panicPolicy struct{ labelPolicy }

func (panicPolicy) Validate(*policies.Request) policies.Result { panic("boom") }

func TestPanicIsRecovered(t *testing.T) {
	s := &Server{Name: "validate", Handler: &Handler{Engine: engine.New(panicPolicy{}), Config: configsource.Static(config.Default())}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	panics := counterValue(t, "devgate_admission_panics_total", "webhook", "validate")
	errs := counterValue(t, "devgate_admission_reviews_total", "webhook", "validate", "outcome", "error")
	rec := post(s, review(t, admissionv1.Create, serviceKind, svc), "application/json")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := counterValue(t, "devgate_admission_panics_total", "webhook", "validate") - panics; got != 1 {
		t.Fatalf("devgate_admission_panics_total went up by %v, want 1", got)
	}
	if got := counterValue(t, "devgate_admission_reviews_total", "webhook", "validate", "outcome", "error") - errs; got != 1 {
		t.Fatalf("devgate_admission_reviews_total{outcome=error} went up by %v, want 1", got)
	}
	// The server keeps serving after a panic.
	rec = post(newTestServer(false), review(t, admissionv1.Create, serviceKind, svc), "application/json")
	if rec.Code != http.StatusOK {
		t.Fatalf("status after a panic = %d", rec.Code)
	}
}

// TestCompleteMatchesController: complete writes the very response
// controller-runtime's Response.Complete writes, patch bytes included.
func TestCompleteMatchesController(t *testing.T) {
	jsonPatch := admissionv1.PatchTypeJSONPatch
	ops := [][]jsonpatch.Operation{
		nil,
		{jsonpatch.NewOperation("add", "/metadata/annotations/devgate.dev~1endpoint", "https://web-alice.okteto.example.com/?a=<b>&c")},
		{
			jsonpatch.NewOperation("add", "/a", nil),
			jsonpatch.NewOperation("replace", "/b", nil),
			jsonpatch.NewOperation("remove", "/c", nil),
			jsonpatch.NewOperation("test", "/d", nil),
			jsonpatch.NewOperation("remove", "/e", "kept"),
			jsonpatch.NewOperation("replace", "/f", map[string]any{"z": 1.5, "a": []any{"\u2028", nil, true, int64(7)}, "m": map[string]string{"k": "v"}}),
			jsonpatch.NewOperation("add", "/g/-", json.RawMessage(`{"raw":  true}`)),
		},
	}
	for i, patches := range ops {
		for _, resp := range []admission.Response{
			{Patches: patches, AdmissionResponse: admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"w"}}},
			{Patches: patches, AdmissionResponse: admissionv1.AdmissionResponse{Allowed: true, PatchType: &jsonPatch}},
			{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Code: 422, Message: "no"}}},
		} {
			req := &admissionv1.AdmissionRequest{UID: "uid-1"}
			want := resp
			if err := want.Complete(admission.Request{AdmissionRequest: *req}); err != nil {
				t.Fatal(err)
			}
			got := resp
			got.Result = resp.Result.DeepCopy()
			if err := complete(&got, req); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want.AdmissionResponse)
			gotJSON, _ := json.Marshal(got.AdmissionResponse)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("case %d:\n got %s\nwant %s", i, gotJSON, wantJSON)
			}
		}
	}
}

// TestConcurrentReviewsKeepTheirOwnBytes sends reviews from several
// goroutines at once: the pooled body buffers and decoders must never mix
// one review's bytes into another's answer.
func TestConcurrentReviewsKeepTheirOwnBytes(t *testing.T) {
	s := newTestServer(true)
	bodies := make([][]byte, 16)
	answers := make([]string, len(bodies))
	for i := range bodies {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"n": strings.Repeat("x", i*100)}}}
		bodies[i] = bytes.Replace(review(t, admissionv1.Create, serviceKind, svc), []byte(`"uid-1"`), []byte(fmt.Sprintf(`"uid-%d"`, i)), 1)
		answers[i] = post(s, bodies[i], "application/json").Body.String()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(bodies)
				if got := post(s, bodies[i], "application/json").Body.String(); got != answers[i] {
					t.Errorf("review %d answered %s, want %s", i, got, answers[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
