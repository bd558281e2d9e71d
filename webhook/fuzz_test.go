package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
)

// FuzzServeHTTP sends arbitrary bodies through the whole HTTP path with the
// real policies: every answer is a well-formed status, never a panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add([]byte(``))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"version":"v1","kind":"Service"},"operation":"CREATE","object":{"metadata":{"name":"a","annotations":{"dev.okteto.com/auto-ingress":"true"}},"spec":{"ports":[{"port":80}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"networking.k8s.io","version":"v1","kind":"Ingress"},"operation":"CREATE","namespace":"a","object":{"metadata":{"name":"i"},"spec":{"rules":[{}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"version":"v1","kind":"Secret"},"operation":"DELETE","namespace":"a","oldObject":{"type":"devgate.dev/token","data":{"token":"!!"}}}}`))
	f.Add(review(&testing.T{}, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Service"}, &corev1.Service{}))
	// SPEC 8: an Ingress one rule beyond the cap (a large review, over
	// LargeReviewBytes), and a Service beyond the ports cap.
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{
		"dev.okteto.com/generate-host": "true", "example.com/pad": strings.Repeat("x", LargeReviewBytes)}}}
	for i := range 1001 {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: fmt.Sprintf("h%d.example.org", i)})
	}
	f.Add(review(&testing.T{}, admissionv1.Create, metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, ing))
	f.Add(review(&testing.T{}, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Service"},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Ports: make([]corev1.ServicePort, 1001)}}))
	cfg := configsource.Static(config.Default())
	eng := all.Engine()
	servers := []*Server{
		{Name: "mutate", Handler: &Handler{Engine: eng, Config: cfg, Mutating: true}},
		{Name: "validate", Handler: &Handler{Engine: eng, Config: cfg}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range servers {
			rec := post(s, body, "application/json")
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("%s: status %d for %q: %s", s.Name, rec.Code, body, rec.Body)
			}
		}
	})
}

// FuzzDecodeReview checks DecodeReview on arbitrary bytes: it never panics,
// whatever it accepts is an admission.k8s.io/v1 AdmissionReview with a
// request and a uid, and what it accepts it accepts again once re-encoded.
func FuzzDecodeReview(f *testing.F) {
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"1"}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","object":{"metadata":{}}}}`))
	f.Add([]byte(`{"APIVERSION":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","object":[1]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		review, err := DecodeReview(body)
		if err != nil {
			if review != nil || err.Error() == "" {
				t.Fatalf("error %q with review %v", err, review)
			}
			return
		}
		if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" || review.Request == nil || review.Request.UID == "" {
			t.Fatalf("accepted %q as %+v", body, review)
		}
		again, err := json.Marshal(review)
		if err != nil {
			t.Fatalf("cannot re-encode %q: %v", body, err)
		}
		if _, err := DecodeReview(again); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %s: %v", body, again, err)
		}
	})
}

// FuzzDecodeReviewMatchesUnmarshal checks the pooled decoding against
// json.Unmarshal into an admissionv1.AdmissionReview, which DecodeReview
// used alone before: the same reviews come out, the same errors are named,
// and a decoder reused after any input still decodes the next one right.
func FuzzDecodeReviewMatchesUnmarshal(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","object":{"metadata":{}}}}` + "\n"))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1"}} {}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1}}`))
	f.Add([]byte(`{"APIVersion":"admission.k8s.io/v1","KIND":"AdmissionReview","Request":{"UID":"1","object":null,"object":{"a":1}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","object":{"a":"\u00e9\ud800"}}}  `))
	f.Add([]byte(`null`))
	f.Add([]byte(` {"request":{"uid":"1"}}}`))
	f.Add([]byte(`{"request":{"uid":"1"`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","object":{"a":"` + strings.Repeat("x", 3<<10) + `"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeReview(body)
		var want admissionv1.AdmissionReview
		wantErr := json.Unmarshal(body, &want)
		switch {
		case len(bytes.TrimSpace(body)) == 0:
			return // refused before decoding
		case wantErr != nil:
			if err == nil || err.Error() != "malformed AdmissionReview: "+wantErr.Error() {
				t.Fatalf("%q: error %v, want malformed AdmissionReview: %v", body, err, wantErr)
			}
		case err != nil && strings.HasPrefix(err.Error(), "malformed"):
			t.Fatalf("%q: %v, but Unmarshal decodes it", body, err)
		case err == nil && !reflect.DeepEqual(*got, want):
			t.Fatalf("%q: decoded %+v, want %+v", body, got, &want)
		}
		// The decoder that read body, when it went back to the pool, reads
		// the next review as Unmarshal does.
		next := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2","object":{"metadata":{"name":"n"}}}}`)
		again, err := DecodeReview(next)
		if err != nil || again.Request.UID != "2" || string(again.Request.Object.Raw) != `{"metadata":{"name":"n"}}` {
			t.Fatalf("after %q: %+v, %v", body, again, err)
		}
	})
}

// FuzzCheckSecretMatchesFullLook checks the Secret shortcut of checkObject
// against findObjectError, the full look it stands for.
func FuzzCheckSecretMatchesFullLook(f *testing.F) {
	f.Add([]byte(`{"kind":"Secret","apiVersion":"v1","metadata":{"name":"a"},"data":{"token":"QQ==","b":null}}`))
	f.Add([]byte(`{"metadata":{},"data":{"token":"not base64!"}}`))
	f.Add([]byte(`{"metadata":{},"data":{"token":12345}}`))
	f.Add([]byte(`{"metadata":{},"data":{"a":"!!"},"data":{"a":"QQ=="}}`))
	f.Add([]byte(`{"metadata":{},"metadata":null,"data":{}}`))
	f.Add([]byte(`{"kind":"Service","apiVersion":"v1","metadata":{}}`))
	f.Add([]byte(`{"kind":"Secret","apiVersion":"v1","Metadata":{}}`))
	f.Add([]byte(`[{"metadata":{}}]`))
	f.Add([]byte(`{"metadata":{}} x`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 {
			return // no object: nothing to check
		}
		got := checkObject("request.object", raw, secretKind)
		want := findObjectError("request.object", raw, secretKind)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q: checkObject says %v, the full look %v", raw, got, want)
		}
	})
}
