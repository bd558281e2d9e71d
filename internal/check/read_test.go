package check

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// summarize is "kind/namespace/name@position" of every object read.
func summarize(objs []*object) []string {
	var out []string
	for _, o := range objs {
		s := o.ref() + "@" + o.pos.source
		if o.pos.document > 0 {
			s += ":" + strconv.Itoa(o.pos.document)
		}
		if o.pos.item != "" {
			s += ":" + o.pos.item
		}
		out = append(out, s)
	}
	return out
}

func TestReadDocuments(t *testing.T) {
	tests := []struct {
		name   string
		source string
		data   string
		want   []string
	}{{
		name:   "multi-document YAML with empty documents and a comment header",
		source: "a.yaml",
		data: `# Copyright header
---
apiVersion: v1
kind: Service
metadata: {name: web}
---
# only a comment
---

---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: team-a}
---
`,
		want: []string{"Service/default/web@a.yaml:1", "ConfigMap/team-a/cfg@a.yaml:2"},
	}, {
		name:   "document of null is skipped but counted",
		source: "a.yaml",
		data:   "~\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
		want:   []string{"Service/default/web@a.yaml:2"},
	}, {
		name:   "single JSON object",
		source: "svc.json",
		data:   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}`,
		want:   []string{"Service/default/web@svc.json:1"},
	}, {
		name:   "JSON stream",
		source: "stream.json",
		data:   "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"b\"}}\n",
		want:   []string{"Service/default/a@stream.json:1", "Service/default/b@stream.json:2"},
	}, {
		name:   "JSON sniffed in a YAML file",
		source: "obj.yaml",
		data:   "  {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}",
		want:   []string{"Service/default/a@obj.yaml:1"},
	}, {
		name:   "YAML flow mapping in a YAML file",
		source: "obj.yaml",
		data:   "{apiVersion: v1, kind: Service, metadata: {name: a}}\n",
		want:   []string{"Service/default/a@obj.yaml:1"},
	}, {
		name:   "byte order mark",
		source: "bom.yaml",
		data:   "\xef\xbb\xbfapiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
		want:   []string{"Service/default/a@bom.yaml:1"},
	}, {
		name:   "kind List expanded",
		source: "list.yaml",
		data: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: b, namespace: x}
`,
		want: []string{"Service/default/a@list.yaml:1:items[0]", "Ingress/x/b@list.yaml:1:items[1]"},
	}, {
		name:   "typed list items inherit apiVersion and kind",
		source: "list.json",
		data:   `{"apiVersion":"v1","kind":"ServiceList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},{"kind":"Service","apiVersion":"v1","metadata":{"name":"b"}}]}`,
		want:   []string{"Service/default/a@list.json:1:items[0]", "Service/default/b@list.json:1:items[1]"},
	}, {
		name:   "nested and empty lists",
		source: "list.yaml",
		data:   "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Service, metadata: {name: a}}\n---\napiVersion: v1\nkind: List\n",
		want:   []string{"Service/default/a@list.yaml:1:items[0].items[0]"},
	}, {
		name:   "kind ending in List without items is an object",
		source: "crd.yaml",
		data:   "apiVersion: example.com/v1\nkind: AllowList\nmetadata: {name: a}\nspec: {}\n",
		want:   []string{"AllowList/default/a@crd.yaml:1"},
	}, {
		name:   "cluster-scoped kinds get no namespace",
		source: "ns.yaml",
		data:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
		want:   []string{"Namespace/team-a@ns.yaml:1", "ClusterRole/r@ns.yaml:2"},
	}, {
		name:   "generateName",
		source: "gen.yaml",
		data:   "apiVersion: v1\nkind: Service\nmetadata: {generateName: web-}\n",
		want:   []string{"Service/default/web-*@gen.yaml:1"},
	}, {
		name:   "only comments and blanks",
		source: "empty.yaml",
		data:   "# nothing\n\n---\n---\n",
		want:   nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := readDocuments(tt.source, []byte(tt.data), "default", 2)
			if err != nil {
				t.Fatalf("readDocuments: %v", err)
			}
			if got := summarize(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReadDocumentsErrors(t *testing.T) {
	tests := []struct {
		name, source, data string
		want               string // the error message, exactly
	}{{
		name:   "malformed YAML names file, document and line",
		source: "deploy.yaml",
		data:   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# c\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\n\napiVersion: v1\nkind: [unclosed\n",
		want:   "deploy.yaml: document 3 (line 12): yaml: line 2: did not find expected ',' or ']'",
	}, {
		name:   "duplicate keys",
		source: "dup.yaml",
		data:   "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n",
		want:   `dup.yaml: document 1 (line 1): yaml: unmarshal errors:` + "\n" + `  line 5: key "name" already set in map`,
	}, {
		name:   "missing kind",
		source: "x.yaml",
		data:   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n",
		want:   "x.yaml: document 2 (line 5): object of apiVersion v1 has no kind",
	}, {
		name:   "missing apiVersion",
		source: "x.yaml",
		data:   "kind: Service\nmetadata: {name: b}\n",
		want:   "x.yaml: document 1 (line 1): Service has no apiVersion",
	}, {
		name:   "neither",
		source: "x.yaml",
		data:   "foo: bar\n",
		want:   "x.yaml: document 1 (line 1): not a Kubernetes object: apiVersion and kind are not set",
	}, {
		name:   "scalar document",
		source: "x.yaml",
		data:   "just a string\n",
		want:   "x.yaml: document 1 (line 1): not a Kubernetes object: expected a mapping with apiVersion and kind, got a string",
	}, {
		name:   "sequence document",
		source: "x.yaml",
		data:   "- a\n- b\n",
		want:   "x.yaml: document 1 (line 1): not a Kubernetes object: expected a mapping with apiVersion and kind, got a list",
	}, {
		name:   "malformed JSON names document and line",
		source: "x.json",
		data:   "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\n \"kind\": Service}\n",
		want:   "x.json: document 2 (line 2): line 3: invalid character 'S' looking for beginning of value",
	}, {
		name:   "truncated JSON",
		source: "x.json",
		data:   `{"apiVersion":"v1","kind":"Service"`,
		want:   "x.json: document 1 (line 1): unexpected end of JSON input",
	}, {
		name:   "JSON array",
		source: "x.json",
		data:   `[{"apiVersion":"v1","kind":"Service"}]`,
		want:   "x.json: document 1 (line 1): not a Kubernetes object: expected a mapping with apiVersion and kind, got a list",
	}, {
		name:   "list item without kind",
		source: "l.yaml",
		data:   "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, metadata: {name: b}}\n",
		want:   "l.yaml: document 1 (line 1): items[1]: object of apiVersion v1 has no kind",
	}, {
		name:   "items not a list",
		source: "l.yaml",
		data:   "apiVersion: v1\nkind: List\nitems: {a: b}\n",
		want:   "l.yaml: document 1 (line 1): items: expected a list of objects: json: cannot unmarshal object into Go value of type []json.RawMessage",
	}, {
		name:   "metadata of the wrong type",
		source: "m.yaml",
		data:   "apiVersion: v1\nkind: Service\nmetadata: [a]\n",
		want:   "m.yaml: document 1 (line 1): json: cannot unmarshal array into Go struct field header.metadata of type check.metadata",
	}, {
		name:   "invalid apiVersion",
		source: "v.yaml",
		data:   "apiVersion: a/b/c\nkind: Service\n",
		want:   `v.yaml: document 1 (line 1): apiVersion: unexpected GroupVersion string: a/b/c`,
	}, {
		name:   "ServiceAccount labels of the wrong type",
		source: "sa.yaml",
		data:   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  labels: {dev.okteto.com/token: [x]}\n",
		want:   "sa.yaml: document 1 (line 1): metadata.labels: json: cannot unmarshal array into Go struct field .metadata.labels of type string",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readDocuments(tt.source, []byte(tt.data), "default", 2)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want an *InputError, got %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tt.want)
			}
		})
	}
}

func TestSplitYAMLLines(t *testing.T) {
	data := "# header\n\n--- # first\napiVersion: v1\n---\n\n\nkind: X\n---\n# only a comment\n---\n---\nkind: Y"
	chunks, err := splitYAML([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []yamlChunk{{text: []byte("apiVersion: v1\n"), line: 4}, {text: []byte("kind: X\n"), line: 8}, {text: []byte("kind: Y\n"), line: 13}}
	if !reflect.DeepEqual(chunks, want) {
		t.Errorf("chunks %+v, want %+v", chunks, want)
	}
	// "---foo" is refused, as kubectl refuses it: the API machinery's reader
	// allows only a comment after a separator.
	_, err = splitYAML([]byte("kind: A\n---\nkind: B\n---foo: bar\nkind: C\n"))
	if err == nil || err.document != 2 || err.line != 4 || !strings.Contains(err.err.Error(), "invalid Yaml document separator: foo: bar") {
		t.Errorf("error %+v", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func svcYAML(name string) string {
	return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\n"
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yaml"), svcYAML("b"))
	writeFile(t, filepath.Join(dir, "a", "z.yml"), svcYAML("az"))
	writeFile(t, filepath.Join(dir, "a", "deep", "c.json"), `{"apiVersion":"v1","kind":"Service","metadata":{"name":"adc"}}`)
	writeFile(t, filepath.Join(dir, "a", "notes.txt"), "not a manifest")
	writeFile(t, filepath.Join(dir, "C.YAML"), svcYAML("upper"))
	writeFile(t, filepath.Join(dir, "single.txt"), svcYAML("txt"))
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		paths   []string
		stdin   string
		want    []string
		wantErr string
	}{{
		name:  "directory recursion, sorted, manifests only",
		paths: []string{dir},
		want: []string{
			"Service/default/upper@" + filepath.Join(dir, "C.YAML") + ":1",
			"Service/default/adc@" + filepath.Join(dir, "a", "deep", "c.json") + ":1",
			"Service/default/az@" + filepath.Join(dir, "a", "z.yml") + ":1",
			"Service/default/b@" + filepath.Join(dir, "b.yaml") + ":1",
		},
	}, {
		name:  "a file named explicitly is read whatever its extension, in order",
		paths: []string{filepath.Join(dir, "single.txt"), filepath.Join(dir, "b.yaml")},
		want: []string{
			"Service/default/txt@" + filepath.Join(dir, "single.txt") + ":1",
			"Service/default/b@" + filepath.Join(dir, "b.yaml") + ":1",
		},
	}, {
		name:  "stdin",
		paths: []string{"-"},
		stdin: svcYAML("in") + "---\n" + svcYAML("in2"),
		want:  []string{"Service/default/in@stdin:1", "Service/default/in2@stdin:2"},
	}, {
		name:    "stdin twice",
		paths:   []string{"-", "-"},
		stdin:   svcYAML("in"),
		wantErr: "stdin: standard input (-) can be given only once",
	}, {
		name:    "missing file",
		paths:   []string{filepath.Join(dir, "nope.yaml")},
		wantErr: filepath.Join(dir, "nope.yaml") + ": stat: no such file or directory",
	}, {
		name:    "directory without manifests",
		paths:   []string{empty},
		wantErr: empty + ": directory holds no *.yaml, *.yml or *.json file",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &reader{stdin: strings.NewReader(tt.stdin), namespace: "default"}
			objs, err := r.readPaths(tt.paths)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || err.Error() != tt.wantErr {
					t.Fatalf("error: got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(objs); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func FuzzReadDocuments(f *testing.F) {
	for _, seed := range []string{
		"",
		"---\n",
		svcYAML("a") + "---\n" + svcYAML("b"),
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}{"apiVersion":"v1","kind":"Service"}`,
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n",
		`{"apiVersion":"v1","kind":"ServiceList","items":[{"metadata":{"name":"a"}},null,1,"x"]}`,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {dev.okteto.com/token: x}}\n",
		"a: &a [*a]\n",
		"- [1, 2]\n- {a: b}\n",
		"apiVersion: v1\nkind: [\n",
		"\xef\xbb\xbf{",
		"apiVersion: 1\nkind: 2\n",
		"apiVersion: v1\nkind: List\nitems: [[], {}, ~]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for _, source := range []string{"f.yaml", "f.json"} {
			objs, err := readDocuments(source, []byte(data), "default", 2)
			if err != nil {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Source != source {
					t.Fatalf("error is not an InputError naming %s: %v", source, err)
				}
				continue
			}
			for _, o := range objs {
				if o.gvk.Kind == "" || o.gvk.Version == "" || len(o.raw) == 0 {
					t.Fatalf("object without kind, version or JSON: %+v", o)
				}
			}
		}
	})
}
