package webhook

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestHasServerPrefix(t *testing.T) {
	service := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	ingress := schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	tests := []struct {
		raw  string
		gvk  schema.GroupVersionKind
		want bool
	}{
		{`{"kind":"Service","apiVersion":"v1","metadata":{"name":"a"}}`, service, true},
		{`{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{}}`, ingress, true},
		{`{"kind":"ServiceAccount","apiVersion":"v1","metadata":{}}`, service, false},
		{`{"kind":"Service","apiVersion":"v2","metadata":{}}`, service, false},
		{`{"kind":"Ingress","apiVersion":"v1","metadata":{}}`, ingress, false},
		{`{"kind":"Ingress","apiVersion":"extensions/v1","metadata":{}}`, ingress, false},
		{`{"kind":"Service","apiVersion":"v1","metadata":null}`, service, false},
		{`{"kind":"Service","apiVersion":"v1","spec":{}}`, service, false},
		{`{"apiVersion":"v1","kind":"Service","metadata":{}}`, service, false},
		{`{"kind":"Service"`, service, false},
		{``, service, false},
	}
	for _, tt := range tests {
		if got := hasServerPrefix([]byte(tt.raw), tt.gvk); got != tt.want {
			t.Errorf("hasServerPrefix(%s, %s) = %v, want %v", tt.raw, tt.gvk.Kind, got, tt.want)
		}
	}
}
