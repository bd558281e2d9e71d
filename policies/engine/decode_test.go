package engine

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

// TestDecodeAgreesWithUnmarshal runs one sequence of inputs through the
// pooled decoders, so each input meets a decoder the previous ones used:
// the result and the error are always what Unmarshal gives.
func TestDecodeAgreesWithUnmarshal(t *testing.T) {
	big := `{"metadata":{"name":"big","annotations":{"a":"` + strings.Repeat("x", maxPooledObject) + `"}}}`
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
			got, err := decode(corev1.SchemeGroupVersion.WithKind("Service"), []byte(in), "ns")
			name := in
			if len(name) > 60 {
				name = name[:60]
			}
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("round %d, %q: error %v, Unmarshal's %v", round, name, err, wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), wantErr.Error()) {
					t.Errorf("round %d, %q: error %q does not carry Unmarshal's %q", round, name, err, wantErr)
				}
				continue
			}
			want.Namespace = "ns"
			want.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %q: decoded %+v, Unmarshal %+v", round, name, got, want)
			}
		}
	}
}
