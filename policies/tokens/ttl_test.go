package tokens_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"devgate.dev/devgate/policies/tokens"
)

const maxTTL = int64(7776000000) // 90 days, the default

func TestParseTTL(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  error
	}{
		{"1", 1, nil},
		{"7200000", 7200000, nil},
		{"7776000000", 7776000000, nil},
		{"0", 0, nil}, // parses; CheckTTL rejects it
		{"9223372036854775807", 9223372036854775807, nil},
		{"", 0, tokens.ErrTTLEmpty},
		{"-1", 0, tokens.ErrTTLSyntax},
		{"+5", 0, tokens.ErrTTLSyntax},
		{" 5", 0, tokens.ErrTTLSyntax},
		{"5 ", 0, tokens.ErrTTLSyntax},
		{"5\n", 0, tokens.ErrTTLSyntax},
		{"2h", 0, tokens.ErrTTLSyntax},
		{"7200000ms", 0, tokens.ErrTTLSyntax},
		{"1e3", 0, tokens.ErrTTLSyntax},
		{"5.0", 0, tokens.ErrTTLSyntax},
		{"1_000", 0, tokens.ErrTTLSyntax},
		{"0x10", 0, tokens.ErrTTLSyntax},
		{"١٢٣", 0, tokens.ErrTTLSyntax}, // Arabic-Indic digits
		{"00", 0, tokens.ErrTTLLeadingZero},
		{"0100", 0, tokens.ErrTTLLeadingZero},
		{"9223372036854775808", 0, tokens.ErrTTLOverflow},
		{"99999999999999999999999999", 0, tokens.ErrTTLOverflow},
	}
	for _, c := range cases {
		t.Run(strconv.Quote(c.in), func(t *testing.T) {
			got, err := tokens.ParseTTL(c.in)
			if got != c.want || !errors.Is(err, c.err) {
				t.Errorf("ParseTTL(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

func TestValidateTTL(t *testing.T) {
	const syntax = `is not a decimal number of milliseconds (digits 0-9 only: no sign, spaces, decimal point or unit such as "h"); `
	cases := []struct {
		in   string
		want string // error message, "" = valid
	}{
		{"1", ""},
		{"7776000000", ""},
		{"7776000001", rangeMsg},
		{"0", rangeMsg},
		{"-1", syntax + rangeMsg},
		{"2h", syntax + rangeMsg},
		{"+5", syntax + rangeMsg},
		{"", "is empty; " + rangeMsg},
		{"0100", "has a leading zero; " + rangeMsg},
		{"9223372036854775808", "is too large; " + rangeMsg},
	}
	for _, c := range cases {
		t.Run(strconv.Quote(c.in), func(t *testing.T) {
			_, err := tokens.ValidateTTL(c.in, maxTTL)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("ValidateTTL(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestHumanMillis(t *testing.T) {
	cases := map[int64]string{
		7776000000:          "90 days",
		86400000:            "1 day",
		7200000:             "2 hours",
		90000:               "90 seconds",
		60000:               "1 minute",
		1500:                "1.5s",
		1:                   "1ms",
		0:                   "0 ms",
		-5:                  "-5 ms",
		9223372036854775807: "9223372036854775807 ms",
	}
	for in, want := range cases {
		if got := tokens.HumanMillis(in); got != want {
			t.Errorf("HumanMillis(%d) = %q, want %q", in, got, want)
		}
	}
	if got := tokens.TTLRange(maxTTL); got != "between 1 and 7776000000 milliseconds (90 days)" {
		t.Errorf("TTLRange = %q", got)
	}
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"", "0", "1", "7776000000", "7776000001", "-1", "+5", " 5", "2h", "0100", "9223372036854775807", "9223372036854775808", "1e3", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := tokens.ParseTTL(s)
		if err == nil {
			// Accepted means canonical: the value prints back as the input.
			if n < 0 || strconv.FormatInt(n, 10) != s {
				t.Fatalf("ParseTTL(%q) = %d: not the canonical decimal form", s, n)
			}
		} else if n != 0 {
			t.Fatalf("ParseTTL(%q) = %d with error %v", s, n, err)
		}
		// Everything strconv reads as a canonical non-negative int64 is accepted.
		if m, perr := strconv.ParseInt(s, 10, 64); perr == nil && m >= 0 && strconv.FormatInt(m, 10) == s && (err != nil || n != m) {
			t.Fatalf("ParseTTL(%q) = %d, %v; strconv reads %d", s, n, err, m)
		}
		ttl, verr := tokens.ValidateTTL(s, maxTTL)
		switch {
		case verr == nil && (ttl <= 0 || ttl > maxTTL):
			t.Fatalf("ValidateTTL(%q) accepted %d", s, ttl)
		case verr != nil && !strings.HasSuffix(verr.Error(), rangeMsg):
			t.Fatalf("ValidateTTL(%q) = %q: the range is missing", s, verr)
		}
	})
}
