package manifestgen

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"text/template"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/webhook"
)

// root is the repository root: tests run in their package's directory.
const root = "../.."

// TestGeneratedFilesUpToDate fails when a committed generated file differs
// from what `make generate` writes: the policies' rules or match conditions,
// webhook.Configurations or config/manager/config.yaml changed without a
// regeneration, or a generated file was edited by hand.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d generated files, want %s and %s", len(files), KustomizeWebhooks, ChartRules)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%v: run `make generate`", err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s is stale: run `make generate`\n%s", f.Path, firstDifference(got, f.Data))
		}
	}
}

// firstDifference describes the first line where the committed file differs
// from the generated one.
func firstDifference(committed, generated []byte) string {
	a, b := strings.Split(string(committed), "\n"), strings.Split(string(generated), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb || i >= len(a) || i >= len(b) {
			return "line " + strconv.Itoa(i+1) + ":\n  committed: " + strings.TrimSpace(la) + "\n  generated: " + strings.TrimSpace(lb)
		}
	}
	return "(they differ only in line endings)"
}

func TestGeneratedHeaders(t *testing.T) {
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{KustomizeWebhooks: "# " + Header + "\n", ChartRules: "{{- /*\n" + Header + "\n"}
	for _, f := range files {
		if !bytes.HasPrefix(f.Data, []byte(want[f.Path])) {
			t.Errorf("%s does not start with %q", f.Path, want[f.Path])
		}
	}
}

// fakePolicy declares rules and does nothing.
type fakePolicy []policies.Rule

func (fakePolicy) Name() string               { return "fake" }
func (p fakePolicy) Handles() []policies.Rule { return p }

var (
	secret  = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	ingress = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}
	cu      = []policies.Operation{policies.Create, policies.Update}
)

// TestChartTemplatesRenderAsConfigurations executes the generated named
// templates with Go's text/template, as Helm does, for conditions holding the
// template delimiters: each renders as the YAML of webhook.Configurations'
// rules and matchConditions, and a webhook without matchConditions renders
// nothing.
func TestChartTemplatesRenderAsConfigurations(t *testing.T) {
	ps := []policies.Policy{fakePolicy{
		{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Mutating: true, Validating: true,
			MatchCondition: `object.data["a{{b"] == "{{ .Values.x }}" || "}}" == "{{{" ||` + "\n" + `"{{- x -}}" == "{{/* y */}}" || "{" == "}"`},
		{GroupVersionKind: ingress, Resource: "ingresses", Operations: cu, Mutating: true},
	}}
	files, err := generate(ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tpl []byte
	for _, f := range files {
		if f.Path == ChartRules {
			tpl = f.Data
		}
	}
	tmpl, err := template.New("rules").Parse(string(tpl))
	if err != nil {
		t.Fatalf("the generated templates do not parse: %v\n%s", err, tpl)
	}
	exec := func(name string) string {
		var out bytes.Buffer
		if err := tmpl.ExecuteTemplate(&out, name, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String()
	}
	mutating, validating := webhook.Configurations(ps, webhook.ClientConfig{}, nil)
	if len(mutating.Webhooks[0].MatchConditions) != 1 || !strings.Contains(mutating.Webhooks[0].MatchConditions[0].Expression, "{{ .Values.x }}") {
		t.Fatalf("the test policy does not give the expected condition: %+v", mutating.Webhooks[0].MatchConditions)
	}
	for _, c := range []struct {
		name string
		want any
	}{
		{"devgate.mutatingRules", map[string]any{"rules": mutating.Webhooks[0].Rules}},
		{"devgate.mutatingMatchConditions", map[string]any{"matchConditions": mutating.Webhooks[0].MatchConditions}},
		{"devgate.validatingRules", map[string]any{"rules": validating.Webhooks[0].Rules}},
		{"devgate.validatingMatchConditions", map[string]any{"matchConditions": validating.Webhooks[0].MatchConditions}},
	} {
		got := exec(c.name)
		want, err := yaml.Marshal(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSuffix(string(want), "\n") != got {
			t.Errorf("%s renders\n%s\nwant\n%s", c.name, got, want)
		}
		var decoded struct {
			Rules           []admissionregistrationv1.RuleWithOperations `json:"rules"`
			MatchConditions []admissionregistrationv1.MatchCondition     `json:"matchConditions"`
		}
		if err := yaml.UnmarshalStrict([]byte(got), &decoded); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// Only validating rules: the mutating webhook has no matchConditions.
	ps = []policies.Policy{fakePolicy{{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Validating: true, MatchCondition: "x"}}}
	if files, err = generate(ps, nil); err != nil {
		t.Fatal(err)
	}
	tmpl = template.Must(template.New("rules").Parse(string(files[1].Data)))
	if got := exec("devgate.mutatingMatchConditions"); got != "" {
		t.Errorf("no mutating matchConditions, the template renders %q, want nothing", got)
	}
}

// TestKustomizeNamespaceSelector: the excluded namespaces of the
// configuration go into the selector after kube-system, each once, and
// devgate's own namespace last.
func TestKustomizeNamespaceSelector(t *testing.T) {
	ps := []policies.Policy{fakePolicy{{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Mutating: true, Validating: true, MatchCondition: "x"}}}
	files, err := generate(ps, []string{"sandbox", "kube-system", "devgate", "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(files[0].Data), "\n---\n")
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &m); err != nil {
		t.Fatal(err)
	}
	got := m.Webhooks[0].NamespaceSelector.MatchExpressions[0].Values
	if want := []string{"kube-system", "sandbox", "devgate"}; !reflect.DeepEqual(got, want) {
		t.Errorf("excluded namespaces %v, want %v", got, want)
	}
	if got := m.Annotations["cert-manager.io/inject-ca-from"]; got != "devgate/devgate-webhook" {
		t.Errorf("inject-ca-from = %q", got)
	}
}

// TestChartTemplatesHTTPRouteMode: where the policies of HTTPRoute mode
// register more than the default ones, each template renders the HTTPRoute
// mode's rules and matchConditions exactly when the chart's
// config.endpoints.kind is httproute, and the default ones otherwise; a
// template the modes agree on has no condition.
func TestChartTemplatesHTTPRouteMode(t *testing.T) {
	route := schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	base := fakePolicy{{GroupVersionKind: secret, Resource: "secrets", Operations: cu, Mutating: true, Validating: true, MatchCondition: "x"}}
	routes := fakePolicy{{GroupVersionKind: route, Resource: "httproutes", Operations: cu, Validating: true, MatchCondition: "y"}}
	ps, routePS := []policies.Policy{base}, []policies.Policy{base, routes}
	files, err := generateModes(ps, ps, routePS, nil)
	if err != nil {
		t.Fatal(err)
	}
	tpl := string(files[1].Data)
	if n := strings.Count(tpl, `{{- if include "devgate.httpRouteEndpoints" . -}}`); n != 2 {
		t.Errorf("%d conditional templates, want 2 (the validating rules and matchConditions)\n%s", n, tpl)
	}
	tmpl, err := parseWithInclude(tpl)
	if err != nil {
		t.Fatalf("the generated templates do not parse: %v\n%s", err, tpl)
	}
	values := func(config map[string]any) map[string]any {
		return map[string]any{"Values": map[string]any{"config": config}}
	}
	for _, c := range []struct {
		name   string
		data   map[string]any
		routes bool
	}{
		{"no endpoints", values(map[string]any{"domain": "a.example"}), false},
		{"kind ingress", values(map[string]any{"endpoints": map[string]any{"kind": "ingress"}}), false},
		{"endpoints without kind", values(map[string]any{"endpoints": map[string]any{}}), false},
		{"kind httproute", values(map[string]any{"endpoints": map[string]any{"kind": "httproute"}}), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := ps
			if c.routes {
				want = routePS
			}
			mutating, validating := webhook.Configurations(want, webhook.ClientConfig{}, nil)
			for _, e := range []struct {
				name string
				want any
			}{
				{"devgate.mutatingRules", map[string]any{"rules": mutating.Webhooks[0].Rules}},
				{"devgate.mutatingMatchConditions", map[string]any{"matchConditions": mutating.Webhooks[0].MatchConditions}},
				{"devgate.validatingRules", map[string]any{"rules": validating.Webhooks[0].Rules}},
				{"devgate.validatingMatchConditions", map[string]any{"matchConditions": validating.Webhooks[0].MatchConditions}},
			} {
				var out bytes.Buffer
				if err := tmpl.ExecuteTemplate(&out, e.name, c.data); err != nil {
					t.Fatalf("%s: %v", e.name, err)
				}
				wantYAML, err := yaml.Marshal(e.want)
				if err != nil {
					t.Fatal(err)
				}
				if got := out.String(); got != strings.TrimSuffix(string(wantYAML), "\n") {
					t.Errorf("%s renders\n%s\nwant\n%s", e.name, got, wantYAML)
				}
			}
		})
	}

	// The same policies in both modes: no condition at all.
	if files, err = generateModes(ps, ps, ps, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(files[1].Data), "devgate.httpRouteEndpoints") {
		t.Error("a condition where the modes agree")
	}
}

// TestHTTPRoutesOnlyInHTTPRouteMode: devgate's own generated files register
// HTTPRoutes in the chart only under the HTTPRoute-mode condition, and not in
// the kustomize base, whose configuration is in the default mode.
func TestHTTPRoutesOnlyInHTTPRouteMode(t *testing.T) {
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(files[0].Data), "httproutes") {
		t.Errorf("%s registers HTTPRoutes while %s is in the default mode", KustomizeWebhooks, KustomizeConfig)
	}
	tmpl, err := parseWithInclude(string(files[1].Data))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ingress", "httproute"} {
		data := map[string]any{"Values": map[string]any{"config": map[string]any{"endpoints": map[string]any{"kind": kind}}}}
		for _, name := range []string{"devgate.mutatingRules", "devgate.validatingRules"} {
			var out bytes.Buffer
			if err := tmpl.ExecuteTemplate(&out, name, data); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(out.String(), "httproutes"); got != (kind == "httproute") {
				t.Errorf("kind %s: %s registers HTTPRoutes: %v", kind, name, got)
			}
		}
	}
}

// parseWithInclude parses the chart's templates with Helm's include, which
// the HTTPRoute-mode condition calls.
func parseWithInclude(text string) (*template.Template, error) {
	tmpl := template.New("rules")
	tmpl.Funcs(template.FuncMap{"include": func(name string, data any) (string, error) {
		var out bytes.Buffer
		err := tmpl.ExecuteTemplate(&out, name, data)
		return out.String(), err
	}})
	return tmpl.Parse(text)
}
