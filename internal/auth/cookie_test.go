package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	hostA = "web-team-a.okteto.example.com"
	hostB = "api-team-a.okteto.example.com"
)

func TestSessionRoundTrip(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	v := s.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour))
	if strings.Contains(v, memberToken) {
		t.Fatal("the cookie holds the token")
	}
	got, uid, exp, err := s.DecodeSignin(v, testNow)
	if err != nil || got != d || uid != "uid-member" || !exp.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("DecodeSignin = %x, %q, %v, %v; want %x", got, uid, exp, err, d)
	}
	v = s.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a")
	if strings.Contains(v, memberToken) {
		t.Fatal("the cookie holds the token")
	}
	if got, uid, err := s.DecodeEndpoint(v, hostA, "team-a", testNow); err != nil || got != d || uid != "uid-member" {
		t.Fatalf("DecodeEndpoint = %x, %q, %v; want %x", got, uid, err, d)
	}
}

// reseal rebuilds a signed value with one field replaced, keeping the MAC.
func reseal(v string, i int, field string) string {
	parts := strings.Split(v, ".")
	parts[i] = field
	return strings.Join(parts, ".")
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestSigninSessionRefusals(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	valid := s.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour))
	parts := strings.Split(valid, ".")
	other := strings.Split(s.EncodeSignin(DigestOf(outsiderToken), uidFor(DigestOf(outsiderToken)), testNow.Add(time.Hour)), ".")
	// The format before host-bound sessions, signed with the same secret.
	legacyPayload := "v1." + parts[1] + "." + parts[2]
	legacy := legacyPayload + "." + b64.EncodeToString(s.mac(legacyPayload))
	tests := map[string]struct {
		value string
		now   time.Time
		want  error
	}{
		"signed by another secret": {Sessions{Secret: []byte(strings.Repeat("x", 32))}.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour)), testNow, errBadCookie},
		"signature altered":        {reseal(valid, 4, flip(parts[4])), testNow, errBadCookie},
		"digest swapped":           {reseal(valid, 2, other[2]), testNow, errBadCookie},
		"uid swapped":              {reseal(valid, 3, other[3]), testNow, errBadCookie},
		"unbound (s2) session":     {s.sign("s2", parts[1], parts[2]), testNow, errBadCookie},
		"expiry extended":          {reseal(valid, 1, "99999999999"), testNow, errBadCookie},
		"no signature":             {strings.Join(parts[:4], "."), testNow, errBadCookie},
		"garbage":                  {"not-a-cookie", testNow, errBadCookie},
		"empty":                    {"", testNow, errBadCookie},
		"expired":                  {valid, testNow.Add(time.Hour), errCookieExpired},
		"long expired":             {s.EncodeSignin(d, uidFor(d), testNow.Add(-time.Hour)), testNow, errCookieExpired},
		"endpoint session":         {s.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a"), testNow, errBadCookie},
		"code":                     {s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow), testNow, errBadCookie},
		"legacy domain cookie":     {legacy, testNow, errBadCookie},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, _, err := s.DecodeSignin(tt.value, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEndpointSessionRefusals(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	valid := s.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a")
	parts := strings.Split(valid, ".")
	tests := map[string]struct {
		value, host, namespace string
		now                    time.Time
		want                   error
	}{
		"valid":                    {valid, hostA, "team-a", testNow, nil},
		"another host":             {valid, hostB, "team-a", testNow, errCookieHost},
		"another namespace":        {valid, hostA, "team-b", testNow, errCookieHost},
		"uid rewritten":            {reseal(valid, 3, b64.EncodeToString([]byte("uid-other"))), hostA, "team-a", testNow, errBadCookie},
		"host rewritten":           {reseal(valid, 4, b64.EncodeToString([]byte(hostB))), hostB, "team-a", testNow, errBadCookie},
		"namespace rewritten":      {reseal(valid, 5, b64.EncodeToString([]byte("team-b"))), hostA, "team-b", testNow, errBadCookie},
		"signature altered":        {reseal(valid, 6, flip(parts[6])), hostA, "team-a", testNow, errBadCookie},
		"unbound (e2) session":     {s.sign("e2", parts[1], parts[2], parts[4], parts[5]), hostA, "team-a", testNow, errBadCookie},
		"signed by another secret": {Sessions{Secret: []byte(strings.Repeat("x", 32))}.EncodeEndpoint(d, uidFor(d), testNow.Add(time.Hour), hostA, "team-a"), hostA, "team-a", testNow, errBadCookie},
		"expired":                  {valid, hostA, "team-a", testNow.Add(time.Hour), errCookieExpired},
		"sign-in session":          {s.EncodeSignin(d, uidFor(d), testNow.Add(time.Hour)), hostA, "team-a", testNow, errBadCookie},
		"code":                     {s.EncodeCode(d, uidFor(d), testNow.Add(time.Hour), hostA, testNow), hostA, "team-a", testNow, errBadCookie},
		"garbage":                  {"a.b.c.d.e.f", hostA, "team-a", testNow, errBadCookie},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.DecodeEndpoint(tt.value, tt.host, tt.namespace, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
