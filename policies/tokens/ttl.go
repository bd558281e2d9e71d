package tokens

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Errors of ParseTTL. They never hold the input, which callers echo themselves
// (cut short) where it is not a secret.
var (
	ErrTTLEmpty       = errors.New("is empty")
	ErrTTLSyntax      = errors.New("is not a decimal number of milliseconds (digits 0-9 only: no sign, spaces, decimal point or unit such as \"h\")")
	ErrTTLLeadingZero = errors.New("has a leading zero")
	ErrTTLOverflow    = errors.New("is too large")
)

// ParseTTL parses a token TTL: a count of milliseconds written in decimal with
// the digits 0-9 only. It is strict because the same string is read by the
// webhook, the CLI and the auth service, and by people:
//   - no sign, spaces, decimal point or unit ("+5", " 5", "5.0", "2h"): a unit
//     in particular would silently be read as milliseconds elsewhere;
//   - no leading zero ("0100"): YAML 1.1, shells and JavaScript read some such
//     numbers as octal, so two readers could disagree on the value;
//   - a value beyond int64 is an error, never a wrap-around.
//
// "0" parses to 0; the range 0 < ttl <= maxTTL is CheckTTL's job.
func ParseTTL(s string) (int64, error) {
	if s == "" {
		return 0, ErrTTLEmpty
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrTTLSyntax
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, ErrTTLLeadingZero
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only digits are left, so the one possible error is a range error.
		return 0, ErrTTLOverflow
	}
	return n, nil
}

// CheckTTL reports whether ttl is in 0 < ttl <= maxTTL, naming the range.
func CheckTTL(ttl, maxTTL int64) error {
	if ttl <= 0 || ttl > maxTTL {
		return fmt.Errorf("must be %s", TTLRange(maxTTL))
	}
	return nil
}

// ValidateTTL parses s and checks its range. Every error names the allowed
// range, so a user who wrote "2h" learns what to write instead.
func ValidateTTL(s string, maxTTL int64) (int64, error) {
	ttl, err := ParseTTL(s)
	if err != nil {
		return 0, fmt.Errorf("%v; must be %s", err, TTLRange(maxTTL))
	}
	if err := CheckTTL(ttl, maxTTL); err != nil {
		return 0, err
	}
	return ttl, nil
}

// TTLRange describes the allowed TTLs, e.g.
// "between 1 and 7776000000 milliseconds (90 days)".
func TTLRange(maxTTL int64) string {
	return fmt.Sprintf("between 1 and %d milliseconds (%s)", maxTTL, HumanMillis(maxTTL))
}

// HumanMillis renders a count of milliseconds in the largest whole unit that
// divides it ("90 days", "2 hours"), else as a Go duration ("1h30m0.5s").
func HumanMillis(ms int64) string {
	units := []struct {
		ms   int64
		name string
	}{{86_400_000, "day"}, {3_600_000, "hour"}, {60_000, "minute"}, {1_000, "second"}}
	for _, u := range units {
		if ms > 0 && ms%u.ms == 0 {
			n := ms / u.ms
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	if ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return fmt.Sprintf("%d ms", ms)
	}
	return (time.Duration(ms) * time.Millisecond).String()
}
