package engine

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/text"
)

// maxShownValue bounds a rejected value echoed in a denial: an annotation may
// hold up to 256 KiB, and echoing all of it drowns the reason. The webhook's
// answers and `devgate check`'s output both go through the engine, so both
// show the same, shortened values. The policies quote values with
// text.Shown, which keeps them within this bound already; this is the
// backstop for any value that a policy echoes whole.
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
		cut.BadValue = text.Shorten(v, maxShownValue)
		out[i] = &cut
	}
	if out == nil {
		return denials
	}
	return out
}
