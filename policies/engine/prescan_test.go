package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// referenceValues counts the array elements and object members of a JSON
// document with encoding/json's tokenizer, or reports it invalid.
func referenceValues(raw []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct{ array, expectKey bool }
	var stack []frame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return values, len(stack) == 0
		}
		if err != nil {
			return 0, false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case top.array:
				values++
			case top.expectKey:
				values++ // a key
				top.expectKey = false
				continue
			default:
				top.expectKey = true // the member's value: a key comes next
			}
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{array: d == '[', expectKey: d == '{'})
		}
	}
}

func TestPrescanCounts(t *testing.T) {
	for _, tc := range []struct {
		doc       string
		values    int
		namespace string
	}{
		{`{}`, 0, ""},
		{`{"a":1}`, 1, ""},
		{` {"a":[1,2,{"b":[]}],"c":{"d":null,"e":"x,]}"}} `, 8, ""},
		{`{"metadata":{"name":"n","namespace":"alice"},"spec":{"rules":[{"host":"h"},{}]}}`, 8, "alice"},
		{`{"metadata":{"namespace":"a\u006cice"}}`, 2, "alice"},
		{`{"metad\u0061ta":{"namespace":"bob"},"metadata":{"namespace":"carol"}}`, 4, "carol"},
		{`{"spec":{"namespace":"x"},"metadata":{"labels":{"namespace":"y"}}}`, 5, ""},
		{`{"a":"\"namespace\":","b":["\\",true,false,-1.5e3]}`, 6, ""},
	} {
		s, ok := prescan([]byte(tc.doc))
		if !ok || s.values != tc.values || s.namespaceOf() != tc.namespace {
			t.Errorf("%s: ok %v, %d values, namespace %q; want %d, %q", tc.doc, ok, s.values, s.namespaceOf(), tc.values, tc.namespace)
		}
		if ref, ok := referenceValues([]byte(tc.doc)); !ok || ref != tc.values {
			t.Errorf("%s: the reference counts %d (ok %v)", tc.doc, ref, ok)
		}
	}
	for _, doc := range []string{``, `[]`, `{`, `{"a":1`, `{"a":"x}`, `{}}`, `{} {}`, `{"a":[1}`, `1`, `"s"`, strings.Repeat("[", 20000)} {
		if _, ok := prescan([]byte(doc)); ok {
			t.Errorf("%.40s: read as a document", doc)
		}
	}
}

func TestPrescanAllocatesNothing(t *testing.T) {
	doc := []byte(`{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"web","namespace":"alice","annotations":{"a":"b"}},"spec":{"rules":[{"host":"web-alice.okteto.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}`)
	if n := testing.AllocsPerRun(100, func() { prescan(doc) }); n != 0 {
		t.Fatalf("%v allocations per scan", n)
	}
}

// FuzzPrescan holds prescan to encoding/json's tokenizer: on every document
// the tokenizer reads, prescan counts the same values; it never panics.
func FuzzPrescan(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":[1,{"b":"c"}]}`, `{"metadata":{"namespace":"a\"b"}}`, `{"a":"\\\""}`, `[1]`, `{"a":tru}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, ok := prescan(raw)
		ref, refOK := referenceValues(raw)
		if !refOK || !json.Valid(raw) || bytes.TrimSpace(raw)[0] != '{' {
			return // prescan may read what is not JSON: the decoder refuses it after
		}
		if !ok || s.values != ref {
			t.Fatalf("%q: prescan ok %v, %d values; the tokenizer counts %d", raw, ok, s.values, ref)
		}
	})
}
