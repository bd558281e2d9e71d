package engine

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestShortened(t *testing.T) {
	long := strings.Repeat("é", 40000) // 80,000 bytes of two-byte characters
	denials := field.ErrorList{
		field.Invalid(field.NewPath("a"), "short", "x"),
		field.Invalid(field.NewPath("b"), long, "y"),
		field.Invalid(field.NewPath("c"), 7, "z"),
	}
	got := shortened(denials)
	if got[0] != denials[0] || got[2] != denials[2] {
		t.Error("values within the bound or not strings must be kept as they are")
	}
	v := got[1].BadValue.(string)
	if want := strings.Repeat("é", maxShownValue/2) + "... (80000 bytes)"; v != want {
		t.Errorf("shortened value = %.40q..., want %.40q...", v, want)
	}
	if denials[1].BadValue != long {
		t.Error("the policies' own denial was changed")
	}
	if odd := shortened(field.ErrorList{field.Invalid(field.NewPath("d"), "a"+long, "")}); !strings.HasPrefix(odd[0].BadValue.(string), "a"+strings.Repeat("é", (maxShownValue-1)/2)+"...") {
		t.Errorf("a cut must not split a character: %.20q", odd[0].BadValue)
	}
}
