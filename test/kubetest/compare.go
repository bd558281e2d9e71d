package kubetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// SubsetDiff reports the first place where want has a value that got lacks
// or differs in; maps may have extra keys in got (the API server's defaults),
// lists must have equal length. "" when want is a subset of got.
func SubsetDiff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", path, got)
		}
		for k, v := range w {
			if d := SubsetDiff(path+"."+k, v, g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, got)
		}
		for i := range w {
			if d := SubsetDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s: want %v, got %v", path, want, got)
		}
	}
	return ""
}

// Dig is the value at path in a decoded JSON object, nil when absent.
func Dig(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// Compact is v as one line of JSON, for messages.
func Compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// MustUnmarshal decodes JSON data into v or fails the test.
func MustUnmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
}
