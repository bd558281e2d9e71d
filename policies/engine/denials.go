package engine

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxShownValue bounds a rejected value echoed in a denial: an annotation may
// hold up to 256 KiB, and echoing all of it drowns the reason. The webhook's
// answers and `devgate check`'s output both go through the engine, so both
// show the same, shortened values.
const maxShownValue = 256

// shortened returns denials whose long string values are cut to
// maxShownValue bytes, with their full length.
func shortened(denials field.ErrorList) field.ErrorList {
	var out field.ErrorList // a copy, made only when a value is cut: the policies' list stays theirs
	for i, d := range denials {
		v, ok := d.BadValue.(string)
		if !ok || len(v) <= maxShownValue {
			continue
		}
		if out == nil {
			out = append(field.ErrorList(nil), denials...)
		}
		cut := *d
		cut.BadValue = fmt.Sprintf("%s... (%d bytes)", truncateUTF8(v, maxShownValue), len(v))
		out[i] = &cut
	}
	if out == nil {
		return denials
	}
	return out
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
