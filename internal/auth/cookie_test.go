package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessionRoundTrip(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	v := s.Encode(d, testNow.Add(time.Hour))
	if strings.Contains(v, memberToken) {
		t.Fatal("the cookie holds the token")
	}
	got, err := s.Decode(v, testNow)
	if err != nil || got != d {
		t.Fatalf("Decode = %x, %v; want %x", got, err, d)
	}
}

func TestSessionRefusals(t *testing.T) {
	s := Sessions{Secret: testSecret}
	d := DigestOf(memberToken)
	valid := s.Encode(d, testNow.Add(time.Hour))
	parts := strings.Split(valid, ".")
	other := s.Encode(DigestOf(outsiderToken), testNow.Add(time.Hour))
	otherParts := strings.Split(other, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	tests := map[string]struct {
		value string
		now   time.Time
		want  error
	}{
		"signed by another secret": {Sessions{Secret: []byte(strings.Repeat("x", 32))}.Encode(d, testNow.Add(time.Hour)), testNow, errBadCookie},
		"signature altered":        {strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3])}, "."), testNow, errBadCookie},
		"digest swapped":           {strings.Join([]string{parts[0], parts[1], otherParts[2], parts[3]}, "."), testNow, errBadCookie},
		"expiry extended":          {strings.Join([]string{parts[0], "99999999999", parts[2], parts[3]}, "."), testNow, errBadCookie},
		"no signature":             {strings.Join(parts[:3], "."), testNow, errBadCookie},
		"garbage":                  {"not-a-cookie", testNow, errBadCookie},
		"empty":                    {"", testNow, errBadCookie},
		"expired":                  {valid, testNow.Add(time.Hour), errCookieExpired},
		"long expired":             {s.Encode(d, testNow.Add(-time.Hour)), testNow, errCookieExpired},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Decode(tt.value, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
