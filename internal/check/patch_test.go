package check

import (
	"encoding/json"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func jsonpatchOp(op, path string) jsonpatch.Operation { return jsonpatch.NewOperation(op, path, "x") }

func TestApplyPatch(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ops  []jsonpatch.Operation
		want string
	}{{
		name: "no operation returns the document as is",
		doc:  `{"b":1, "a":2}`,
		want: `{"b":1, "a":2}`,
	}, {
		name: "add keeps unknown fields, key order and big integers",
		doc:  `{"kind":"X","metadata":{"name":"a"},"zz":{"n":12345678901234567890}}`,
		ops:  []jsonpatch.Operation{jsonpatch.NewOperation("add", "/metadata/annotations", map[string]any{"a/b": "c"})},
		want: `{"kind":"X","metadata":{"name":"a","annotations":{"a/b":"c"}},"zz":{"n":12345678901234567890}}`,
	}, {
		name: "add creates missing parents (the typed form has spec: {})",
		doc:  `{"metadata":{"name":"a"}}`,
		ops:  []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/type", "ClusterIP")},
		want: `{"metadata":{"name":"a"},"spec":{"type":"ClusterIP"}}`,
	}, {
		name: "escaped pointer",
		doc:  `{"metadata":{"annotations":{"x":"y"}}}`,
		ops:  []jsonpatch.Operation{jsonpatch.NewOperation("add", "/metadata/annotations/devgate.dev~1endpoint", "https://a")},
		want: `{"metadata":{"annotations":{"x":"y","devgate.dev/endpoint":"https://a"}}}`,
	}, {
		name: "replace and remove, including something already absent",
		doc:  `{"spec":{"type":"LoadBalancer","ports":[{"port":80,"nodePort":30080}]}}`,
		ops: []jsonpatch.Operation{
			jsonpatch.NewOperation("replace", "/spec/type", "ClusterIP"),
			jsonpatch.NewOperation("remove", "/spec/ports/0/nodePort", nil),
			jsonpatch.NewOperation("remove", "/spec/loadBalancerIP", nil),
		},
		want: `{"spec":{"type":"ClusterIP","ports":[{"port":80}]}}`,
	}, {
		name: "array append",
		doc:  `{"spec":{"tls":[{"hosts":["a"]}]}}`,
		ops:  []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/tls/-", map[string]any{"hosts": []any{"b"}})},
		want: `{"spec":{"tls":[{"hosts":["a"]},{"hosts":["b"]}]}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyPatch([]byte(tt.doc), tt.ops)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := applyPatch([]byte(`{"a":1}`), []jsonpatch.Operation{jsonpatch.NewOperation("replace", "/b/c", 1)}); err == nil {
		t.Error("replace of a missing path must fail (the caller falls back to the typed object)")
	}
}

func TestRenderTyped(t *testing.T) {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n"}}
	doc, gvk, err := renderTyped(ing, true)
	if err != nil {
		t.Fatal(err)
	}
	if gvk != ingressGVK || string(doc) != `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a","namespace":"n"},"spec":{}}` {
		t.Errorf("got %v %s", gvk, doc)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}}}
	doc, _, err = renderTyped(svc, false)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil || m["status"] == nil || m["kind"] != "Service" {
		t.Errorf("a status with content is kept: %s", doc)
	}
}

func TestJSONToYAMLMatchesSigsYAML(t *testing.T) {
	for _, doc := range []string{
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","annotations":{"dev.okteto.com/auto-ingress":"yes","b":"true","c":"on","d":"1.0","e":"0x1F","f":"2024-01-01","g":"~","h":"","i":"a: b","j":"- x","k":"#c","l":"multi\nline","m":"null"}},"spec":{"ports":[{"port":80,"targetPort":"8080"}],"x":1.5,"y":-3,"z":1e3,"big":18446744073709551615,"t":true,"n":null,"empty":{},"list":[]}}`,
		`{"data":{"token":"WnE5LWtxM0xtUDB3UnQ3WQ=="},"stringData":{"ttl":"86400000"}}`,
	} {
		want, err := yaml.JSONToYAML([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonToYAML([]byte(doc)); string(got) != string(want) {
			t.Errorf("jsonToYAML:\n%s\nsigs.k8s.io/yaml:\n%s", got, want)
		}
	}
	if got := string(jsonToYAML([]byte(`not json`))); got != "not json\n" {
		t.Errorf("fallback: %q", got)
	}
}
