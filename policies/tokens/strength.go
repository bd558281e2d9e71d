package tokens

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of a strong token (SPEC 5.4) besides the configured minimum length.
const (
	// MaxTokenLength bounds a token so that it fits a header and a cookie.
	MaxTokenLength = 4096
	// MinDistinctChars rejects values such as "aaaaaaaaaaaaaaaa" or "abababab...".
	MinDistinctChars = 8
)

// Placeholders are the well-known values people paste from documentation;
// a token that is one of them, whatever its case and optionally followed by
// digits ("Password123"), is not a secret.
var Placeholders = []string{"changeme", "password", "token", "secret", "example", "test", "admin"}

// isPlaceholder reports whether value is one of Placeholders, in any case,
// optionally followed by digits. It is a loop rather than a regular
// expression, which made the token escape to the heap and was the slowest
// step of CheckStrength; value is printable ASCII here, so ASCII case folding
// is the whole story. FuzzCheckStrength holds it to an independent statement.
func isPlaceholder(value string) bool {
	word := strings.TrimRight(value, "0123456789") // no placeholder ends with a digit
	for _, p := range Placeholders {
		if strings.EqualFold(word, p) {
			return true
		}
	}
	return false
}

// errCharset is shared by every caller: it needs no value-specific detail.
var errCharset = errors.New("must contain only printable ASCII characters without spaces (0x21-0x7e)")

// CheckStrength reports why value is not a strong token (SPEC 5.4), or nil.
// The error names the rule and at most the value's length, never the value:
// callers put it in admission messages.
//
// The character set is checked first, so every later length counts bytes and
// characters alike.
func CheckStrength(value string, minLength int) error {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x21 || c > 0x7e {
			return errCharset
		}
	}
	switch n := len(value); {
	case n < minLength:
		return fmt.Errorf("is %d characters long; must be at least %d characters", n, minLength)
	case n > MaxTokenLength:
		return fmt.Errorf("is %d characters long; must be at most %d characters", n, MaxTokenLength)
	}
	var seen [128]bool
	distinct := 0
	for i := 0; i < len(value); i++ {
		if !seen[value[i]] {
			seen[value[i]] = true
			distinct++
		}
	}
	if distinct < MinDistinctChars {
		return fmt.Errorf("has %d distinct characters; must have at least %d", distinct, MinDistinctChars)
	}
	if isPlaceholder(value) {
		// Naming which placeholder would reveal part of the value.
		return fmt.Errorf("is a well-known placeholder (%s, in any case, optionally followed by digits); use a random value", strings.Join(Placeholders, ", "))
	}
	return nil
}
