package tokens_test

import (
	"fmt"
	"strings"
	"testing"

	"devgate.dev/devgate/policies/tokens"
)

const (
	msgCharset     = "must contain only printable ASCII characters without spaces (0x21-0x7e)"
	msgPlaceholder = "is a well-known placeholder (changeme, password, token, secret, example, test, admin, in any case, optionally followed by digits); use a random value"
)

func TestCheckStrength(t *testing.T) {
	cases := []struct {
		name, value string
		minLength   int
		want        string // "" = strong
	}{
		{"strong", strong, 16, ""},
		{"exactly minLength", len16, 16, ""},
		{"minLength-1", len15, 16, "is 15 characters long; must be at least 16 characters"},
		{"a larger minLength", len16, 17, "is 16 characters long; must be at least 17 characters"},
		{"empty", "", 16, "is 0 characters long; must be at least 16 characters"},
		{"exactly 4096", len4096, 16, ""},
		{"4097", len4097, 16, "is 4097 characters long; must be at most 4096 characters"},
		{"8 distinct", distinct8, 16, ""},
		{"7 distinct", distinct7, 16, "has 7 distinct characters; must have at least 8"},
		{"one character repeated", strings.Repeat("x", 32), 16, "has 1 distinct characters; must have at least 8"},
		{"space", withSpace, 16, msgCharset},
		{"tab", withTab, 16, msgCharset},
		{"DEL", withDEL, 16, msgCharset},
		{"NUL", "Zq3vT8pL\x000mX5rW2kYb", 16, msgCharset},
		{"non-ASCII", nonASCII, 16, msgCharset},
		{"non-UTF-8", nonUTF8, 16, msgCharset},
		{"every printable ASCII character", printableASCII(), 16, ""},
		{"'!' and '~' are the bounds", "!~abcdefgh!~abcdefgh", 16, ""},
		{"placeholder changeme", "changeme12345678", 16, msgPlaceholder},
		{"placeholder password", "password12345678", 16, msgPlaceholder},
		{"placeholder token", "token12345678901", 16, msgPlaceholder},
		{"placeholder secret", "secret1234567890", 16, msgPlaceholder},
		{"placeholder example", "example123456789", 16, msgPlaceholder},
		{"placeholder test", "test123456789012", 16, msgPlaceholder},
		{"placeholder admin", "admin12345678901", 16, msgPlaceholder},
		{"placeholder in upper case", "PASSWORD12345678", 16, msgPlaceholder},
		{"placeholder in mixed case", "ChangeMe12345678", 16, msgPlaceholder},
		// With minLength 8, a bare placeholder passes every other rule.
		{"bare placeholder, minLength 8", "changeme1", 8, msgPlaceholder},
		{"bare password, minLength 8", "Password1", 8, msgPlaceholder},
		{"placeholder then a letter", "password1234567x", 16, ""},
		{"placeholder inside", "mypassword123456", 16, ""},
		{"placeholder twice", "passwordpassword1", 16, ""},
		{"7 distinct beats placeholder", "changeme", 8, "has 7 distinct characters; must have at least 8"},
		{"placeholder with non-ASCII digits", "password١٢٣٤٥٦٧٨", 8, msgCharset},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tokens.CheckStrength(c.value, c.minLength)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("CheckStrength = %q, want %q", got, c.want)
			}
			if c.value != "" && strings.Contains(got, c.value) {
				t.Errorf("the error holds the value: %q", got)
			}
		})
	}
}

func printableASCII() string {
	var b strings.Builder
	for c := byte(0x21); c <= 0x7e; c++ {
		b.WriteByte(c)
	}
	return b.String()
}

// referenceStrength restates SPEC 5.4 independently of CheckStrength and
// renders the message CheckStrength must give. Messages depend only on the
// value's length, its distinct characters and the rule broken: that is how
// the fuzz test knows no value can leak.
func referenceStrength(v string, minLength int) string {
	if strings.IndexFunc(v, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
		return msgCharset
	}
	if len(v) < minLength {
		return fmt.Sprintf("is %d characters long; must be at least %d characters", len(v), minLength)
	}
	if len(v) > 4096 {
		return fmt.Sprintf("is %d characters long; must be at most 4096 characters", len(v))
	}
	distinct := map[rune]bool{}
	for _, r := range v {
		distinct[r] = true
	}
	if len(distinct) < 8 {
		return fmt.Sprintf("has %d distinct characters; must have at least 8", len(distinct))
	}
	word := strings.ToLower(strings.TrimRight(v, "0123456789"))
	for _, p := range []string{"changeme", "password", "token", "secret", "example", "test", "admin"} {
		if word == p {
			return msgPlaceholder
		}
	}
	return ""
}

func FuzzCheckStrength(f *testing.F) {
	for _, v := range []string{strong, len15, len16, distinct7, distinct8, withSpace, nonASCII, nonUTF8, "", "changeme", "PASSWORD12345678", "token", len4097} {
		f.Add(v, 16)
	}
	f.Add("changeme", 8)
	f.Add("abc", -1)
	f.Fuzz(func(t *testing.T, v string, minLength int) {
		err := tokens.CheckStrength(v, minLength)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want := referenceStrength(v, minLength); got != want {
			t.Fatalf("CheckStrength(%q, %d) = %q, want %q", v, minLength, got, want)
		}
	})
}
