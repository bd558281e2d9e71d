package pooledjson

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

// TestUnmarshalAgreesWithUnmarshal runs one sequence of inputs through the
// pooled decoders, so each input meets a decoder the previous ones used:
// the result and the error are always what Unmarshal gives.
func TestUnmarshalAgreesWithUnmarshal(t *testing.T) {
	big := `{"metadata":{"name":"big","annotations":{"a":"` + strings.Repeat("x", MaxPooled) + `"}}}`
	inputs := []string{
		`{"metadata":{"name":"a","labels":{"x":"1"}},"spec":{"ports":[{"port":80}]}}`,
		`{"metadata":{"name":"b"}}` + "  \n",
		`{"metadata":{"name":"c"}}`,
		`{"metadata":{"name":"d"}}}`,
		`{"metadata":{"name":"e"}} {"metadata":{"name":"f"}}`,
		`{"metadata":{"name":"g"}}]`,
		`{"metadata":{"name":`,
		`{"metadata":"x"}`,
		` {"metadata":{"name":"h"}}`,
		big,
		`{"Metadata":{"Name":"i"},"metadata":{"name":"j"}}`,
		``,
		`{"metadata":{"name":"k","labels":{"y":"2"}}}`,
	}
	for round := range 3 {
		for _, in := range inputs {
			want := &corev1.Service{}
			wantErr := sigsjson.UnmarshalCaseSensitivePreserveInts([]byte(in), want)
			got := &corev1.Service{}
			err := CaseSensitive.Unmarshal([]byte(in), got)
			name := in
			if len(name) > 60 {
				name = name[:60]
			}
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("round %d, %q: error %v, Unmarshal's %v", round, name, err, wantErr)
			}
			if err != nil {
				if err.Error() != wantErr.Error() {
					t.Errorf("round %d, %q: error %q, Unmarshal's %q", round, name, err, wantErr)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %q: decoded %+v, Unmarshal %+v", round, name, got, want)
			}
		}
	}
}
