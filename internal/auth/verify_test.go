package auth

import (
	"net/http"
	"testing"
	"time"
)

func TestVerifyAnswers(t *testing.T) {
	f := newFixture(t)
	member := f.sessions.Encode(DigestOf(memberToken), testNow.Add(time.Hour))
	forged := Sessions{Secret: []byte("another-secret-of-thirty-two-by!")}.Encode(DigestOf(memberToken), testNow.Add(time.Hour))
	expired := f.sessions.Encode(DigestOf(memberToken), testNow.Add(-time.Second))
	disabledSession := f.sessions.Encode(DigestOf(disabledToken), testNow.Add(time.Hour))
	tests := []struct {
		name      string
		namespace string
		header    map[string]string
		status    int
		user      string
		email     string
	}{
		{"member bearer", "team-a", bearer(memberToken), 200, "alice@example.com", "alice@example.com"},
		{"bearer scheme in lower case", "team-a", map[string]string{"Authorization": "bearer " + memberToken}, 200, "alice@example.com", "alice@example.com"},
		{"member cookie", "team-a", cookieHeader(member), 200, "alice@example.com", "alice@example.com"},
		{"ServiceAccount token", "team-a", bearer(saToken), 200, "system:serviceaccount:team-a:ci", ""},
		{"no credentials", "team-a", nil, 401, "", ""},
		{"basic auth is no credential", "team-a", map[string]string{"Authorization": "Basic YTpi"}, 401, "", ""},
		{"unknown token", "team-a", bearer(unknownToken), 401, "", ""},
		{"disabled token", "team-a", bearer(disabledToken), 401, "", ""},
		{"expired token", "team-a", bearer(expiredToken), 401, "", ""},
		{"cookie signed by another secret", "team-a", cookieHeader(forged), 401, "", ""},
		{"expired cookie", "team-a", cookieHeader(expired), 401, "", ""},
		{"cookie of a token since disabled", "team-a", cookieHeader(disabledSession), 401, "", ""},
		{"bearer wins over cookie", "team-a", map[string]string{"Authorization": "Bearer " + unknownToken, "Cookie": CookieName + "=" + member}, 401, "", ""},
		{"outsider", "team-a", bearer(outsiderToken), 403, "", ""},
		{"member of another namespace", "team-b", bearer(memberToken), 403, "", ""},
		{"no namespace", "", bearer(memberToken), 400, "", ""},
		{"invalid namespace", "Team_A", bearer(memberToken), 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.limiter.clients = nil // every case from a fresh client
			w := serve(f.verify, verifyRequest(tt.namespace, tt.header))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get(HeaderUser); got != tt.user {
				t.Errorf("%s = %q, want %q", HeaderUser, got, tt.user)
			}
			if got, ok := w.Header()[http.CanonicalHeaderKey(HeaderEmail)]; (tt.email == "" && ok) || (tt.email != "" && (len(got) != 1 || got[0] != tt.email)) {
				t.Errorf("%s = %q, want %q", HeaderEmail, got, tt.email)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("answer may be cached")
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestVerifyAccessReviewFailure(t *testing.T) {
	f := newFixture(t)
	f.reviewer.err = errBoom
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != http.StatusInternalServerError || w.Header().Get(HeaderUser) != "" {
		t.Fatalf("status = %d, user = %q; want 500 and no user", w.Code, w.Header().Get(HeaderUser))
	}
}

func TestVerifyStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.store.err = errBoom
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	if len(f.limiter.clients) != 0 {
		t.Fatal("a failure of the service counted against the client")
	}
}

func TestVerifyRateLimit(t *testing.T) {
	f := newFixture(t) // burst 3, one failure forgiven per minute
	for i := range 3 {
		if w := serve(f.verify, verifyRequest("team-a", bearer(unknownToken))); w.Code != 401 {
			t.Fatalf("failure %d: status %d", i, w.Code)
		}
	}
	w := serve(f.verify, verifyRequest("team-a", bearer(memberToken)))
	if w.Code != 401 || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("a limited client's valid token: status %d, Retry-After %q; want 401 and 60", w.Code, w.Header().Get("Retry-After"))
	}
	other := verifyRequest("team-a", bearer(memberToken))
	other.Header.Set("X-Real-IP", "192.0.2.99")
	if w := serve(f.verify, other); w.Code != 200 {
		t.Fatalf("another client: status %d", w.Code)
	}
	// Valid answers and requests without credentials are no failures.
	f.now = f.now.Add(time.Minute)
	for range 5 {
		serve(f.verify, verifyRequest("team-a", nil))
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
		t.Fatalf("after one failure drained: status %d", w.Code)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(outsiderToken))); w.Code != 403 {
		t.Fatalf("outsider: status %d", w.Code)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
		t.Fatalf("a 403 counted as a failure: status %d", w.Code)
	}
}

func TestVerifyUsesAccessCache(t *testing.T) {
	f := newFixture(t)
	h := f.verify.(*verifyHandler)
	h.access = &CachedReviewer{Next: f.reviewer, TTL: 10 * time.Second, MaxEntries: 10, Now: func() time.Time { return f.now }}
	for range 3 {
		if w := serve(h, verifyRequest("team-a", bearer(memberToken))); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if f.reviewer.calls != 1 {
		t.Fatalf("%d SubjectAccessReviews for three requests within the TTL, want 1", f.reviewer.calls)
	}
}
