package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// recreateMember replaces the member token Secret by another object with
// the same token: deleted and created again, it has a new UID.
func recreateMember(f *fixture, uid string) {
	s := tokenSecret("member", memberToken, "alice@example.com", nil)
	s.UID = types.UID(uid)
	f.store.secrets[0] = s
}

func TestSessionsEndWithTheirSecret(t *testing.T) {
	f := newFixture(t)
	d := DigestOf(memberToken)
	// Made while the token resolved from the Secret with UID uid-member.
	endpoint := f.sessions.EncodeEndpoint(d, "uid-member", testNow.Add(time.Hour), hostA, "team-a")
	code := f.sessions.EncodeCode(d, "uid-member", testNow.Add(time.Hour), hostA, testNow)
	signin := f.sessions.EncodeSignin(d, "uid-member", testNow.Add(time.Hour))
	if w := serve(f.verify, endpointRequest("team-a", "https://"+hostA+"/", cookieHeader(endpoint))); w.Code != 200 {
		t.Fatalf("the session before the Secret was replaced: %d", w.Code)
	}

	recreateMember(f, "uid-member-2")
	if w := serve(f.verify, endpointRequest("team-a", "https://"+hostA+"/", cookieHeader(endpoint))); w.Code != 401 {
		t.Fatalf("an endpoint session of the deleted Secret: %d, want 401", w.Code)
	}
	if w := serve(f.verify, endpointRequest("team-a", codeURL(hostA, code), nil)); w.Code != 401 || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("a code of the deleted Secret: %d, Set-Cookie %q; want 401 and none", w.Code, w.Header().Get("Set-Cookie"))
	}
	// The sign-in page does not resume the old sign-in session: the form.
	r := httptest.NewRequest(http.MethodGet, "/auth/signin?rd="+target, nil)
	r.Header.Set("Cookie", CookieName+"="+signin)
	if w := serve(f.signin, r); w.Code != 200 || w.Header().Get("Location") != "" {
		t.Fatalf("resuming a sign-in session of the deleted Secret: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	// The two refusals of /verify counted as failures (burst 3): one more
	// refusal and even a valid token is not looked at.
	if w := serve(f.verify, endpointRequest("team-a", "https://"+hostA+"/", cookieHeader(endpoint))); w.Code != 401 {
		t.Fatalf("third refusal: %d", w.Code)
	}
	if w := serve(f.verify, verifyRequest("team-a", bearer(memberToken))); w.Code != 401 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("the refusals were not counted: %d", w.Code)
	}
}

func TestSessionOfTheNewSecret(t *testing.T) {
	f := newFixture(t)
	recreateMember(f, "uid-member-2")
	// Signing in again binds the sessions to the Secret that holds the token now.
	w := serve(f.signin, signinPost(memberToken, target, nil))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in with the recreated Secret's token: %d", w.Code)
	}
	_, uid, _, err := f.sessions.DecodeSignin(sessionCookie(t, w).Value, testNow)
	if err != nil || uid != "uid-member-2" {
		t.Fatalf("sign-in session bound to %q (%v), want uid-member-2", uid, err)
	}
	w = serve(f.verify, endpointRequest("team-a", w.Header().Get("Location"), nil))
	if w.Code != 200 {
		t.Fatalf("the new code: %d", w.Code)
	}
	endpoint := sessionCookie(t, w).Value
	if w := serve(f.verify, endpointRequest("team-a", target, cookieHeader(endpoint))); w.Code != 200 {
		t.Fatalf("the new endpoint session: %d", w.Code)
	}
}

func TestResolveSessionAmongHolders(t *testing.T) {
	// Two Secrets of the same user hold the token: a session of either is valid,
	// whatever order the cache lists them in; new sessions take the least UID.
	a := tokenSecret("a", memberToken, "alice@example.com", nil)
	b := tokenSecret("b", memberToken, "alice@example.com", nil)
	for _, secrets := range [][]*corev1.Secret{{a, b}, {b, a}} {
		r := resolverFor(&fakeStore{secrets: secrets})
		for _, uid := range []string{"uid-a", "uid-b"} {
			if _, err := r.ResolveSession(t.Context(), DigestOf(memberToken), uid); err != nil {
				t.Fatalf("session of %s: %v", uid, err)
			}
		}
		if _, err := r.ResolveSession(t.Context(), DigestOf(memberToken), "uid-c"); err != errSessionReplaced {
			t.Fatalf("session of a third object: %v", err)
		}
		if id, _ := r.Resolve(t.Context(), DigestOf(memberToken)); id.UID != "uid-a" {
			t.Fatalf("new sessions bound to %q", id.UID)
		}
	}
}
