// Package text shortens the values that devgate echoes in denials, warnings
// and Events. An annotation value can be 256 KiB and a token Secret's field
// anything a tenant wrote: quoting all of it drowns the reason, and cutting
// it in the middle of a character makes the message invalid UTF-8.
package text

import (
	"strconv"
	"unicode/utf8"
)

// MaxShown is how many bytes of a value a message quotes.
const MaxShown = 200

// Shown is v as a message quotes it: whole up to MaxShown bytes, else cut
// there, on a character boundary, and followed by "... (N bytes)".
func Shown(v string) string { return Shorten(v, MaxShown) }

// Shorten is v cut to at most n bytes on a character boundary and followed by
// "... (N bytes)", N being v's length, or v itself when it fits.
func Shorten(v string, n int) string {
	if len(v) <= n {
		return v
	}
	return Truncate(v, n) + "... (" + strconv.Itoa(len(v)) + " bytes)"
}

// Truncate cuts s to at most n bytes without splitting a character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
