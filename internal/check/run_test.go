package check

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies/config"
)

// run runs check over the files (name -> content) with the fake engine.
func run(t *testing.T, files map[string]string, opts Options) (report *Report, stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
	abs := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			if p == "-" {
				out = append(out, p)
			} else {
				out = append(out, filepath.Join(dir, p))
			}
		}
		return out
	}
	opts.Filenames, opts.Old = abs(opts.Filenames), abs(opts.Old)
	if opts.Engine == nil {
		opts.Engine = fakeEngine()
	}
	if opts.User.Username == "" {
		opts.User.Username = "devgate-cli"
	}
	var out, errOut bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &errOut
	report, err = Run(opts)
	return report, out.String(), errOut.String(), err
}

const mixed = `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    fake.devgate.dev/generate: web
spec:
  ports:
  - port: 80
  x-unknown-field: kept
---
apiVersion: v1
kind: Service
metadata:
  name: bad
  namespace: team-b
  labels:
    fake.devgate.dev/deny: "yes"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  key: value
`

func TestRunJSON(t *testing.T) {
	report, stdout, stderr, err := run(t, map[string]string{"m.yaml": mixed}, Options{Filenames: []string{"m.yaml"}, Output: OutputJSON, Namespace: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("stderr: %q", stderr)
	}
	if report.ExitCode() != ExitDenied {
		t.Errorf("exit code %d, want %d", report.ExitCode(), ExitDenied)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if keys := sortedKeys(doc); !slices.Equal(keys, []string{"results", "summary"}) {
		t.Errorf("top-level keys %v", keys)
	}
	wantSummary := map[string]any{"objects": 3.0, "allowed": 2.0, "denied": 1.0, "mutated": 1.0, "generated": 1.0}
	if !reflect.DeepEqual(doc["summary"], wantSummary) {
		t.Errorf("summary %v, want %v", doc["summary"], wantSummary)
	}
	results := doc["results"].([]any)
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	wantKeys := []string{"allowed", "apiVersion", "causes", "denials", "generated", "kind", "name", "namespace", "object", "operation", "patch", "warnings"}
	for i, r := range results {
		m := r.(map[string]any)
		if keys := sortedKeys(m); !slices.Equal(keys, wantKeys) {
			t.Errorf("result %d keys %v", i, keys)
		}
		for _, k := range []string{"causes", "denials", "warnings", "patch", "generated"} {
			if _, ok := m[k].([]any); !ok {
				t.Errorf("result %d: %s is %#v, want an array", i, k, m[k])
			}
		}
	}

	web := results[0].(map[string]any)
	wantWeb := map[string]any{
		"apiVersion": "v1", "kind": "Service", "namespace": "team-a", "name": "web",
		"operation": "CREATE", "allowed": true, "causes": []any{}, "denials": []any{}, "warnings": []any{},
		"patch": []any{map[string]any{"op": "add", "path": "/metadata/annotations/fake.devgate.dev~1mutated", "value": "yes"}},
		"object": map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "web", "namespace": "team-a", "annotations": map[string]any{
				"fake.devgate.dev/generate": "web", "fake.devgate.dev/mutated": "yes"}},
			// The unknown field survives: the patch is applied to the manifest.
			"spec": map[string]any{"ports": []any{map[string]any{"port": 80.0}}, "x-unknown-field": "kept"},
		},
		"generated": []any{map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			// No ownerReference: the Service has no uid. No creationTimestamp, no status.
			"metadata": map[string]any{"name": "web", "namespace": "team-a", "labels": map[string]any{"app.kubernetes.io/managed-by": "devgate"}},
			"spec": map[string]any{"rules": []any{map[string]any{"host": "web.okteto.example.com", "http": map[string]any{"paths": []any{map[string]any{
				"path": "/", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": "web", "port": map[string]any{"number": 80.0}}}}}}}}},
		}},
	}
	if !reflect.DeepEqual(web, wantWeb) {
		got, _ := json.MarshalIndent(web, "", "  ")
		t.Errorf("web result:\n%s", got)
	}

	bad := results[1].(map[string]any)
	if bad["allowed"] != false || bad["namespace"] != "team-b" {
		t.Errorf("bad result: %v", bad)
	}
	wantDenials := []any{`metadata.labels[fake.devgate.dev/deny]: Invalid value: "yes": denied by label`}
	if !reflect.DeepEqual(bad["denials"], wantDenials) {
		t.Errorf("denials %v", bad["denials"])
	}
	wantCauses := []any{map[string]any{
		"field": "metadata.labels[fake.devgate.dev/deny]", "type": "FieldValueInvalid",
		"detail": "denied by label", "message": `Invalid value: "yes": denied by label`,
	}}
	if !reflect.DeepEqual(bad["causes"], wantCauses) {
		t.Errorf("causes %v, want %v", bad["causes"], wantCauses)
	}
	if g := bad["generated"].([]any); len(g) != 0 {
		t.Errorf("a denied object generates nothing, got %v", g)
	}

	cfg := results[2].(map[string]any)
	wantCfg := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cfg", "namespace": "team-a"}, "data": map[string]any{"key": "value"}}
	if !reflect.DeepEqual(cfg["object"], wantCfg) || cfg["allowed"] != true || len(cfg["patch"].([]any)) != 0 {
		t.Errorf("unknown kind must pass untouched: %v", cfg)
	}
}

func sortedKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestRunText(t *testing.T) {
	files := map[string]string{"m.yaml": mixed + `---
apiVersion: v1
kind: Secret
metadata:
  name: token
  labels:
    fake.devgate.dev/deny: "a"
---
apiVersion: v1
kind: Service
metadata:
  name: fails
  namespace: kube-system
  annotations:
    fake.devgate.dev/generate: fail
---
apiVersion: v1
kind: Service
metadata:
  name: broken-generator
  annotations:
    fake.devgate.dev/generate: fail
`}
	report, stdout, stderr, err := run(t, files, Options{Filenames: []string{"m.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `MUTATE  Service/default/web               add /metadata/annotations/fake.devgate.dev~1mutated
  generates Ingress/default/web
DENY    Service/team-b/bad                metadata.labels[fake.devgate.dev/deny]: Invalid value: "yes": denied by label
ALLOW   ConfigMap/default/cfg             no policy applies
DENY    Secret/default/token              metadata.labels[fake.devgate.dev/deny]: Invalid value: "a": denied by label
  warning: op=CREATE user=devgate-cli groups= admin=false old=false
ALLOW   Service/kube-system/fails         no policy applies
MUTATE  Service/default/broken-generator  add /metadata/annotations/fake.devgate.dev~1mutated
  warning: fake-generator: cannot generate: cannot build a host
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if stderr != "6 objects: 4 allowed (2 mutated), 2 denied; 1 generated\n" {
		t.Errorf("stderr: %q", stderr)
	}
	if report.ExitCode() != ExitDenied {
		t.Errorf("exit code %d", report.ExitCode())
	}
}

func TestRunTextColor(t *testing.T) {
	_, stdout, _, err := run(t, map[string]string{"m.yaml": mixed}, Options{Filenames: []string{"m.yaml"}, Color: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\x1b[36mMUTATE\x1b[0m  Service/default/web ", "\x1b[31mDENY  \x1b[0m  Service/team-b/bad ", "\x1b[32mALLOW \x1b[0m  ConfigMap/default/cfg "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestUseColor(t *testing.T) {
	if UseColor(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if UseColor(f) {
		t.Error("a file is not a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if UseColor(os.Stdout) {
		t.Error("NO_COLOR disables colour")
	}
}

func TestRunTextPatchSummary(t *testing.T) {
	r := &Result{Allowed: true}
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		r.Patch = append(r.Patch, jsonpatchOp("add", p))
	}
	if got := patchSummary(r); got != "add /a, add /b, add /c, and 2 more" {
		t.Errorf("patchSummary = %q", got)
	}
	if got := oneLine("a\nb\r\nc"); got != `a\nb\r\nc` {
		t.Errorf("oneLine = %q", got)
	}
}

func TestRunYAML(t *testing.T) {
	report, stdout, stderr, err := run(t, map[string]string{"m.yaml": mixed}, Options{Filenames: []string{"m.yaml"}, Output: OutputYAML})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(stdout, "---\n")
	if len(docs) != 3 {
		t.Fatalf("want the 2 admitted objects and 1 generated object, got %d documents:\n%s", len(docs), stdout)
	}
	var kinds []string
	for i, d := range docs {
		var obj map[string]any
		if err := yaml.UnmarshalStrict([]byte(d), &obj); err != nil {
			t.Fatalf("document %d does not parse: %v\n%s", i, err, d)
		}
		md := obj["metadata"].(map[string]any)
		kinds = append(kinds, obj["kind"].(string)+"/"+md["namespace"].(string)+"/"+md["name"].(string))
		if _, ok := md["creationTimestamp"]; ok {
			t.Errorf("document %d has creationTimestamp", i)
		}
	}
	if want := []string{"Service/default/web", "ConfigMap/default/cfg", "Ingress/default/web"}; !slices.Equal(kinds, want) {
		t.Errorf("documents %v, want %v", kinds, want)
	}
	if !strings.Contains(docs[0], "fake.devgate.dev/mutated: \"yes\"") || !strings.Contains(docs[0], "x-unknown-field: kept") {
		t.Errorf("the Service is not as mutated:\n%s", docs[0])
	}
	wantErr := "DENY    Service/team-b/bad  metadata.labels[fake.devgate.dev/deny]: Invalid value: \"yes\": denied by label\n" +
		"3 objects: 2 allowed (1 mutated), 1 denied; 1 generated\n"
	if stderr != wantErr {
		t.Errorf("stderr:\n%q\nwant\n%q", stderr, wantErr)
	}
	if report.ExitCode() != ExitDenied {
		t.Error("a denial is exit status 1")
	}
}

func TestRunOldUpdate(t *testing.T) {
	cur := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: same
  labels: {fake.devgate.dev/immutable: new}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: other-ns
  namespace: elsewhere
---
apiVersion: v1
kind: Secret
metadata: {name: s}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: other}
---
apiVersion: v1
kind: Secret
metadata: {generateName: s}
`
	old := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: same
  namespace: team
  labels: {fake.devgate.dev/immutable: old}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other-ns}
---
apiVersion: extensions/v1beta1
kind: Secret
metadata: {name: s}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: s, namespace: team}
`
	report, _, _, err := run(t, map[string]string{"cur.yaml": cur, "old/old.yaml": old},
		Options{Filenames: []string{"cur.yaml"}, Old: []string{"old"}, Namespace: "team"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range report.Results {
		got = append(got, string(r.Operation)+" "+r.Kind+"/"+r.Namespace+"/"+r.Name)
	}
	want := []string{
		"UPDATE Ingress/team/same",          // old namespace written, new one defaulted
		"CREATE Ingress/elsewhere/other-ns", // old is in team
		"UPDATE Secret/team/s",              // old comes from a List
		"CREATE Secret/other/s",
		"CREATE Secret/team/", // generateName never matches
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if report.Results[0].Allowed || !strings.Contains(report.Results[0].Denials[0], "immutable") {
		t.Errorf("the old object reaches the policies: %+v", report.Results[0])
	}
	if w := report.Results[2].Warnings; len(w) != 1 || !strings.Contains(w[0], "op=UPDATE") || !strings.Contains(w[0], "old=true") {
		t.Errorf("warnings %q", w)
	}
}

func TestRunRequester(t *testing.T) {
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
	for _, tt := range []struct {
		user authenticationv1.UserInfo
		want string
	}{
		{authenticationv1.UserInfo{}, "op=CREATE user=devgate-cli groups= admin=false old=false"},
		{authenticationv1.UserInfo{Username: "alice", Groups: []string{"dev", "system:masters"}}, "op=CREATE user=alice groups=dev,system:masters admin=true old=false"},
	} {
		report, _, _, err := run(t, map[string]string{"s.yaml": secret}, Options{Filenames: []string{"s.yaml"}, User: tt.user})
		if err != nil {
			t.Fatal(err)
		}
		if w := report.Results[0].Warnings; !slices.Equal(w, []string{tt.want}) {
			t.Errorf("warnings %q, want %q", w, tt.want)
		}
	}
}

func TestRunConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: dev.example.org\nexcludedNamespaces: [skip]\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations: {fake.devgate.dev/generate: web}\n"
	report, _, _, err := run(t, map[string]string{"s.yaml": svc + "---\n" + strings.Replace(svc, "name: web", "name: web2\n  namespace: skip", 1)},
		Options{Filenames: []string{"s.yaml"}, Config: cfg, Output: OutputJSON})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(report.Results[0].Generated[0], []byte(`"host":"web.dev.example.org"`)) {
		t.Errorf("generated with the wrong config: %s", report.Results[0].Generated[0])
	}
	if r := report.Results[1]; len(r.Patch) != 0 || len(r.Generated) != 0 || r.handled {
		t.Errorf("an excluded namespace passes untouched: %+v", r)
	}
}

func TestRunDuplicateTokens(t *testing.T) {
	sa := func(name, ns, token string) string {
		return "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n  labels: {dev.okteto.com/token: " + token + "}\n---\n"
	}
	files := map[string]string{
		"a.yaml":   sa("a", "team", "tok1") + sa("b", "team", "tok2"),
		"b.yaml":   sa("c", "other", "tok1"),
		"old.yaml": sa("live", "prod", "tok2") + sa("b", "team", "tok1") + sa("gone", "prod", "tok3"),
	}
	report, _, _, err := run(t, files, Options{Filenames: []string{"a.yaml", "b.yaml"}, Old: []string{"old.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range report.Results {
		got = append(got, r.Name+": "+strings.Join(r.Denials, ";"))
	}
	want := []string{
		// team/b's old tok1 is replaced by its new version: only other/c collides.
		`a: metadata.labels[dev.okteto.com/token]: Duplicate value: "other/c"`,
		`b: metadata.labels[dev.okteto.com/token]: Duplicate value: "prod/live"`,
		`c: metadata.labels[dev.okteto.com/token]: Duplicate value: "team/a"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	svc := svcYAML("a")
	tests := []struct {
		name    string
		files   map[string]string
		opts    Options
		wantErr string
		usage   bool
	}{
		{name: "no input", opts: Options{}, wantErr: "invalid usage: no input: give manifests with -f FILE, -f DIR or -f -", usage: true},
		{name: "bad output", files: map[string]string{"a.yaml": svc}, opts: Options{Filenames: []string{"a.yaml"}, Output: "xml"}, wantErr: `invalid usage: unknown output format "xml": use text, yaml or json`, usage: true},
		{name: "malformed", files: map[string]string{"a.yaml": svc + "---\nkind: [\n"}, opts: Options{Filenames: []string{"a.yaml"}}, wantErr: "a.yaml: document 2 (line 5): yaml: line 1: did not find expected node content"},
		{name: "malformed old", files: map[string]string{"a.yaml": svc, "o.yaml": "apiVersion: v1\n"}, opts: Options{Filenames: []string{"a.yaml"}, Old: []string{"o.yaml"}}, wantErr: "o.yaml: document 1 (line 1): object of apiVersion v1 has no kind"},
		{name: "stdin in -f and --old", files: map[string]string{}, opts: Options{Filenames: []string{"-"}, Old: []string{"-"}, Stdin: strings.NewReader(svc)}, wantErr: "stdin: standard input (-) can be given only once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stdout, _, err := run(t, tt.files, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if stdout != "" {
				t.Errorf("nothing is written on bad input, got %q", stdout)
			}
			if got := err.Error(); !strings.HasSuffix(got, tt.wantErr) {
				t.Errorf("error %q, want it to end with %q", got, tt.wantErr)
			}
			var ie *InputError
			if tt.usage != errors.Is(err, ErrUsage) || tt.usage == errors.As(err, &ie) {
				t.Errorf("usage %t, got %T", tt.usage, err)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, tt := range []struct {
		data string
		want int
	}{
		{svcYAML("a"), ExitAllowed},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", ExitAllowed},
		{"", ExitAllowed},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: {fake.devgate.dev/deny: x}}\n", ExitDenied},
	} {
		report, _, _, err := run(t, map[string]string{"a.yaml": tt.data}, Options{Filenames: []string{"a.yaml"}, Output: OutputJSON})
		if err != nil {
			t.Fatal(err)
		}
		if report.ExitCode() != tt.want {
			t.Errorf("%q: exit %d, want %d", tt.data, report.ExitCode(), tt.want)
		}
	}
}

func TestRunStdinAndEmpty(t *testing.T) {
	report, stdout, _, err := run(t, nil, Options{Filenames: []string{"-"}, Stdin: strings.NewReader(""), Output: OutputJSON})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "{\n  \"results\": [],\n  \"summary\": {\n    \"objects\": 0,\n    \"allowed\": 0,\n    \"denied\": 0,\n    \"mutated\": 0,\n    \"generated\": 0\n  }\n}\n" {
		t.Errorf("empty report: %s", stdout)
	}
	if report.ExitCode() != ExitAllowed {
		t.Error("no object, no denial")
	}
}

func TestRunLeavesInputsUnchanged(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"m.yaml": mixed, "sub/s.json": `{"apiVersion":"v1","kind":"Service","metadata":{"name":"j"}}`}
	sums := map[string][32]byte{}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
		sums[name] = sha256.Sum256([]byte(data))
	}
	for _, output := range []string{OutputText, OutputYAML, OutputJSON} {
		if _, err := Run(Options{Filenames: []string{dir}, Old: []string{filepath.Join(dir, "m.yaml")}, Engine: fakeEngine(), Output: output}); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(data) != sums[name] {
			t.Errorf("%s changed", name)
		}
	}
}

func TestRunGeneratedOwnerReference(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  uid: \"1234\"\n  annotations: {fake.devgate.dev/generate: web}\n"
	report, _, _, err := run(t, map[string]string{"s.yaml": svc}, Options{Filenames: []string{"s.yaml"}, Output: OutputJSON})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(report.Results[0].Generated[0], []byte(`"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"web","uid":"1234"}]`)) {
		t.Errorf("generated: %s", report.Results[0].Generated[0])
	}
}

func TestRunWorkersKeepOrder(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 200 {
		name := "svc-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i)
		b.WriteString(svcYAML(name) + "---\n")
		want = append(want, name)
	}
	report, _, _, err := run(t, map[string]string{"m.yaml": b.String()}, Options{Filenames: []string{"m.yaml"}, Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range report.Results {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, want) {
		t.Error("results out of input order")
	}
}

// TestRenderJSONLayout checks that the report assembled from pre-encoded
// results is byte for byte what json.Encoder writes for the whole Report.
func TestRenderJSONLayout(t *testing.T) {
	for _, files := range []map[string]string{{"m.yaml": mixed}, {"e.yaml": ""}, {"one.yaml": svcYAML("a")}} {
		report, stdout, _, err := run(t, files, Options{Filenames: slices.Collect(maps.Keys(files)), Output: OutputJSON})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			t.Fatal(err)
		}
		if stdout != want.String() {
			t.Errorf("got:\n%s\nwant:\n%s", stdout, want.String())
		}
	}
}
