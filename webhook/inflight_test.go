package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

var serviceGVK = metav1.GroupVersionKind{Version: "v1", Kind: "Service"}

// blockingServer admits every review once release is called; entered gets a
// value for each review that reached the handler. release may be called more
// than once: tests defer it, so that a failing test's server can close.
func blockingServer(lim *Limiter) (s *Server, entered chan struct{}, release func()) {
	entered = make(chan struct{}, 16)
	gate := make(chan struct{})
	var once sync.Once
	h := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		entered <- struct{}{}
		<-gate
		return admission.Allowed("")
	})
	return &Server{Name: "validate", Handler: h, Limiter: lim}, entered, func() { once.Do(func() { close(gate) }) }
}

// send posts body to url and returns the status, the Retry-After header and
// the body of the answer.
func send(t *testing.T, client *http.Client, url string, body io.Reader) (int, string, string) {
	t.Helper()
	resp, err := client.Post(url, "application/json", body)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// bigService is a review of more than size bytes.
func bigService(t *testing.T, size int) []byte {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web",
		Annotations: map[string]string{"example.com/pad": strings.Repeat("x", size)}}}
	return review(t, admissionv1.Create, serviceGVK, svc)
}

// TestInFlightBound fills the two slots of a Limiter with reviews that block
// in the handler: the third waits for its deadline (?timeout=1s, answered
// 0.9 s in) and gets 429; once the two finish, the next review is served.
func TestInFlightBound(t *testing.T) {
	s, entered, release := blockingServer(NewLimiter(2, DefaultLargeBodyBytes, 1))
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer release()
	body := review(t, admissionv1.Create, serviceGVK, &corev1.Service{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if code, _, msg := send(t, srv.Client(), srv.URL+"/validate", bytes.NewReader(body)); code != http.StatusOK {
				t.Errorf("blocked review: %d %s", code, msg)
			}
		})
	}
	<-entered
	<-entered
	if n := s.Limiter.InFlight(); n != 2 {
		t.Fatalf("in flight = %d, want 2", n)
	}
	start := time.Now()
	code, retry, msg := send(t, srv.Client(), srv.URL+"/validate?timeout=1s", bytes.NewReader(body))
	waited := time.Since(start)
	if code != http.StatusTooManyRequests || retry != "1" || !strings.Contains(msg, "devgate is busy: 2 admission reviews in flight") {
		t.Fatalf("third review: %d, Retry-After %q: %s", code, retry, msg)
	}
	// It waited for a slot until its deadline, not less.
	if waited < 850*time.Millisecond {
		t.Fatalf("third review answered after %v, before its deadline", waited)
	}
	if len(entered) != 0 {
		t.Fatal("the third review reached the handler")
	}
	release()
	wg.Wait()
	if code, _, msg := send(t, srv.Client(), srv.URL+"/validate", bytes.NewReader(body)); code != http.StatusOK {
		t.Fatalf("after the slots freed: %d %s", code, msg)
	}
	if n := s.Limiter.InFlight(); n != 0 {
		t.Fatalf("in flight after all answered = %d", n)
	}
}

// TestLargeReviewBound: with one large review being checked, the next large
// ones, with or without a Content-Length, are read and then wait for their
// turn until their deadline (429), while small reviews still go through.
func TestLargeReviewBound(t *testing.T) {
	s, entered, release := blockingServer(NewLimiter(8, DefaultLargeBodyBytes, 1))
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer release()
	big := bigService(t, LargeReviewBytes)
	var wg sync.WaitGroup
	wg.Go(func() {
		if code, _, msg := send(t, srv.Client(), srv.URL+"/validate", bytes.NewReader(big)); code != http.StatusOK {
			t.Errorf("first large review: %d %s", code, msg)
		}
	})
	<-entered
	for name, body := range map[string]func() io.Reader{
		"declared": func() io.Reader { return bytes.NewReader(big) },
		// A reader of unknown length: the client sends it chunked.
		"chunked": func() io.Reader { return io.MultiReader(bytes.NewReader(big)) },
	} {
		start := time.Now()
		code, retry, msg := send(t, srv.Client(), srv.URL+"/validate?timeout=300ms", body())
		if code != http.StatusTooManyRequests || retry != "1" || !strings.Contains(msg, "devgate is busy: 1 large admission reviews (over 128 KiB) are checked at once") {
			t.Fatalf("%s: second large review: %d, Retry-After %q: %s", name, code, retry, msg)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Fatalf("%s: answered after %v, before its deadline", name, waited)
		}
	}
	if n := s.Limiter.bodyBytes.Load(); n != int64(len(big)) {
		t.Fatalf("large body bytes held = %d, want the first review's %d", n, len(big))
	}
	small := review(t, admissionv1.Create, serviceGVK, &corev1.Service{})
	wg.Go(func() {
		if code, _, msg := send(t, srv.Client(), srv.URL+"/validate?timeout=2s", bytes.NewReader(small)); code != http.StatusOK {
			t.Errorf("small review beside a large one: %d %s", code, msg)
		}
	})
	select {
	case <-entered: // the small review reached the handler
	case <-time.After(10 * time.Second):
		t.Fatal("a small review did not get past a large one in flight")
	}
	release()
	wg.Wait()
	// The large slot is free again, and the budget back to nothing.
	if code, _, msg := send(t, srv.Client(), srv.URL+"/validate", io.MultiReader(bytes.NewReader(big))); code != http.StatusOK {
		t.Fatalf("large review after release: %d %s", code, msg)
	}
	if n := s.Limiter.bodyBytes.Load(); n != 0 {
		t.Fatalf("large body bytes held after all answered = %d", n)
	}
}

// TestLargeBodyBudgetAnswersAtOnce: once the large bodies in flight fill
// their budget, the next large review is answered 429 at once, unread, with
// or without a Content-Length.
func TestLargeBodyBudgetAnswersAtOnce(t *testing.T) {
	s, entered, release := blockingServer(NewLimiter(8, MaxRequestBytes, 2))
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer release()
	big := bigService(t, 4<<20)
	var wg sync.WaitGroup
	wg.Go(func() {
		if code, _, msg := send(t, srv.Client(), srv.URL+"/validate", bytes.NewReader(big)); code != http.StatusOK {
			t.Errorf("first large review: %d %s", code, msg)
		}
	})
	<-entered
	for name, body := range map[string]func() io.Reader{
		"declared": func() io.Reader { return bytes.NewReader(big) },
		"chunked":  func() io.Reader { return io.MultiReader(bytes.NewReader(big)) },
	} {
		start := time.Now()
		code, retry, msg := send(t, srv.Client(), srv.URL+"/validate?timeout=20s", body())
		if code != http.StatusTooManyRequests || retry != "1" || !strings.Contains(msg, "devgate is busy: the bodies of the large admission reviews (over 128 KiB) in flight hold 7 MiB") {
			t.Fatalf("%s: %d, Retry-After %q: %s", name, code, retry, msg)
		}
		// Not after the deadline: at once (the bound is loose for a loaded machine).
		if waited := time.Since(start); waited > 10*time.Second {
			t.Fatalf("%s: answered after %v", name, waited)
		}
	}
	release()
	wg.Wait()
}

// TestWaitingLargeReviewDoesNotStallItsConnection: over HTTP/2, as the API
// server calls webhooks, reviews share a connection whose flow-control window
// a large unread body would fill. A large review waiting for its turn has its
// body read already, so a small review on the same connection is answered at
// once, not at the large one's deadline.
func TestWaitingLargeReviewDoesNotStallItsConnection(t *testing.T) {
	s, entered, release := blockingServer(NewLimiter(8, DefaultLargeBodyBytes, 1))
	srv := httptest.NewUnstartedServer(s)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer release()
	client := srv.Client()
	big := bigService(t, 3<<20)
	var wg sync.WaitGroup
	wg.Go(func() { send(t, client, srv.URL+"/validate", bytes.NewReader(big)) }) // checked, blocked
	<-entered
	wg.Go(func() { send(t, client, srv.URL+"/validate?timeout=8s", bytes.NewReader(big)) }) // waits its turn
	// Let the waiting review's body arrive first.
	for deadline := time.Now().Add(10 * time.Second); s.Limiter.bodyBytes.Load() < 2*int64(len(big)); {
		if time.Now().After(deadline) {
			t.Fatalf("the waiting large review's body was not read: %d bytes held", s.Limiter.bodyBytes.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	small := review(t, admissionv1.Create, serviceGVK, &corev1.Service{})
	done := make(chan int, 1)
	go func() {
		resp, err := client.Post(srv.URL+"/validate?timeout=8s", "application/json", bytes.NewReader(small))
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		done <- resp.StatusCode
	}()
	select {
	case <-entered: // the small review reached the handler
	case <-time.After(4 * time.Second):
		t.Fatal("a small review on the connection of a waiting large one did not get through before the large one's deadline")
	}
	release()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("small review: %d", code)
	}
	wg.Wait()
}

// TestDeadlineDeniesAsTimeout: a review whose deadline has passed when the
// engine starts is denied as a timeout (504), in an AdmissionReview.
func TestDeadlineDeniesAsTimeout(t *testing.T) {
	body := review(t, admissionv1.Create, serviceGVK, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}})
	r := httptest.NewRequest(http.MethodPost, "/mutate?timeout=1ns", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	newTestServer(true).ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	resp := decodeResponse(t, rec)
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusGatewayTimeout || resp.Result.Reason != metav1.StatusReasonTimeout ||
		!strings.Contains(resp.Result.Message, "the object took too long to check") || len(resp.Patch) != 0 {
		t.Fatalf("response = %+v", resp)
	}
}

func TestReviewDeadline(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query string
		want  time.Duration
	}{
		{"", 9 * time.Second},
		{"?timeout=5s", 4500 * time.Millisecond},
		{"?timeout=2s", 1800 * time.Millisecond},
		{"?timeout=30s", 29 * time.Second},
		{"?timeout=45s", 29 * time.Second},
		{"?timeout=bogus", 9 * time.Second},
		{"?timeout=-1s", 9 * time.Second},
		{"?timeout=0s", 9 * time.Second},
		{"?a=b&timeout=3s&timeout=7s", 2700 * time.Millisecond},
		{"?timeout=1%30s", 9 * time.Second},
		{"?x%3D=1&timeout%3D2s", 9 * time.Second},
	} {
		r := httptest.NewRequest(http.MethodPost, "/validate"+tc.query, nil)
		if got := reviewDeadline(r, start).Sub(start); got != tc.want {
			t.Errorf("%q: deadline after %v, want %v", tc.query, got, tc.want)
		}
		if got, want := queryValue(r.URL.RawQuery, "timeout"), r.URL.Query().Get("timeout"); got != want {
			t.Errorf("%q: timeout %q, url.Values says %q", tc.query, got, want)
		}
	}
}
