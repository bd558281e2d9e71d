package auth

import (
	"testing"
	"time"
)

func TestOIDCSessionValues(t *testing.T) {
	s := Sessions{Secret: testSecret}
	sub := oidcSubject{User: "alice@example.com", Groups: []string{"devs", "a.b"}, Connector: "corp"}
	exp := testNow.Add(time.Hour)
	signin := s.EncodeOIDCSignin(sub, exp)
	endpoint := s.EncodeOIDCEndpoint(sub, exp, hostA, "team-a")
	code := s.EncodeOIDCCode(sub, exp, hostA, testNow)

	got, gotExp, err := s.DecodeOIDCSignin(signin, testNow)
	if err != nil || got.User != sub.User || len(got.Groups) != 2 || got.Groups[1] != "a.b" || got.Connector != "corp" || !gotExp.Equal(exp) {
		t.Fatalf("sign-in session: %+v %v %v", got, gotExp, err)
	}
	if _, _, err := s.DecodeOIDCEndpoint(endpoint, hostA, "team-a", testNow); err != nil {
		t.Fatalf("endpoint session: %v", err)
	}
	c, err := s.DecodeOIDCCode(code, testNow)
	if err != nil || c.Host != hostA || c.Subject.User != sub.User || !c.SessionExpires.Equal(exp) {
		t.Fatalf("code: %+v %v", c, err)
	}
	for name, tc := range map[string]struct {
		err  error
		fail func() error
	}{
		"endpoint session for another host": {errCookieHost, func() error {
			_, _, err := s.DecodeOIDCEndpoint(endpoint, "docs-team-a.okteto.example.com", "team-a", testNow)
			return err
		}},
		"endpoint session for another namespace": {errCookieHost, func() error {
			_, _, err := s.DecodeOIDCEndpoint(endpoint, hostA, "team-b", testNow)
			return err
		}},
		"sign-in session as an endpoint session": {errBadCookie, func() error {
			_, _, err := s.DecodeOIDCEndpoint(signin, hostA, "team-a", testNow)
			return err
		}},
		"endpoint session as a sign-in session": {errBadCookie, func() error {
			_, _, err := s.DecodeOIDCSignin(endpoint, testNow)
			return err
		}},
		"code as a session": {errBadCookie, func() error {
			_, _, err := s.DecodeOIDCSignin(code, testNow)
			return err
		}},
		"expired session": {errCookieExpired, func() error {
			_, _, err := s.DecodeOIDCSignin(signin, exp)
			return err
		}},
		"expired code": {errCodeExpired, func() error {
			_, err := s.DecodeOIDCCode(code, testNow.Add(CodeTTL))
			return err
		}},
		"another secret": {errBadCookie, func() error {
			_, _, err := Sessions{Secret: []byte("another-secret-another-secret-xx")}.DecodeOIDCSignin(signin, testNow)
			return err
		}},
		"a token's sign-in session": {errBadCookie, func() error {
			_, _, err := s.DecodeOIDCSignin(s.EncodeSignin(DigestOf(memberToken), "uid", exp), testNow)
			return err
		}},
	} {
		if err := tc.fail(); err != tc.err {
			t.Errorf("%s: %v, want %v", name, err, tc.err)
		}
	}
	// An OIDC value is never read as a token's, nor the reverse.
	if _, _, _, err := s.DecodeSignin(signin, testNow); err == nil {
		t.Fatal("an OIDC sign-in session reads as a token's")
	}
	if _, _, err := s.DecodeEndpoint(endpoint, hostA, "team-a", testNow); err == nil {
		t.Fatal("an OIDC endpoint session reads as a token's")
	}
	if _, err := s.DecodeCode(code, testNow); err == nil {
		t.Fatal("an OIDC code reads as a token's")
	}
	// Tampered: one byte of the user changed.
	b := []byte(signin)
	b[len(kindOIDCSignin)+12] ^= 1
	if _, _, err := s.DecodeOIDCSignin(string(b), testNow); err != errBadCookie {
		t.Fatalf("tampered session: %v", err)
	}
}
