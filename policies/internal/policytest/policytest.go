// Package policytest holds what the policies' table tests share: the
// expected-denial type, the checks of an engine's answer, and the idempotence
// check that admits a mutated object again as the API server would.
package policytest

import (
	"encoding/json"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// WantErr is an expected denial: exact type and field, a fragment of the detail.
// Each package's tests declare their own type of this shape (`type wantErr
// policytest.WantErr`), so that their tables can list the fields unkeyed.
type WantErr struct {
	Type   field.ErrorType
	Field  string
	Detail string
}

// CheckDenials wants exactly the denials of want, in order.
func CheckDenials[W ~struct {
	Type   field.ErrorType
	Field  string
	Detail string
}](t *testing.T, got field.ErrorList, want []W) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("denials: got %d %q, want %d %+v", len(got), ErrorStrings(got), len(want), want)
	}
	for i := range want {
		w, g := WantErr(want[i]), got[i]
		if g.Type != w.Type || g.Field != w.Field || !strings.Contains(g.Detail, w.Detail) {
			t.Errorf("denial %d:\n got %s %s %q\nwant %s %s containing %q", i, g.Type, g.Field, g.Detail, w.Type, w.Field, w.Detail)
		}
	}
}

// CheckWarnings wants exactly the warnings of want, in order.
func CheckWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("warnings: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("warning %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

// CheckIdempotent applies the patch to the input as the API server does,
// admits the result again and wants an empty patch, no warning and the same
// denials.
func CheckIdempotent(t *testing.T, eng *engine.Engine, in engine.Input, out engine.Output, cfg *config.Config, lookup policies.Lookup) {
	t.Helper()
	in.Object = ApplyPatch(t, in.Object, out)
	again := eng.Admit(in, cfg, lookup)
	if len(again.Patch) != 0 {
		t.Errorf("not idempotent: second patch %s", MustJSON(again.Patch))
	}
	if len(again.Warnings) != 0 {
		t.Errorf("second admission warns: %q", again.Warnings)
	}
	if MustJSON(ErrorStrings(again.Denials)) != MustJSON(ErrorStrings(out.Denials)) {
		t.Errorf("second admission denials differ:\n%q\n%q", ErrorStrings(again.Denials), ErrorStrings(out.Denials))
	}
}

// ApplyPatch applies out's JSON patch to doc with evanphx/json-patch, the
// library the API server's admission chain uses.
func ApplyPatch(t testing.TB, doc []byte, out engine.Output) []byte {
	t.Helper()
	if len(out.Patch) == 0 {
		return doc
	}
	p, err := jsonpatch.DecodePatch([]byte(MustJSON(out.Patch)))
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	patched, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch %s to %s: %v", MustJSON(out.Patch), doc, err)
	}
	return patched
}

// ErrorStrings are the denials as the webhook's message lists them.
func ErrorStrings(errs field.ErrorList) []string {
	s := make([]string, 0, len(errs))
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

// MustJSON is v as JSON; test values always marshal.
func MustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// YAMLToJSON turns flow-style test YAML into JSON.
func YAMLToJSON(t testing.TB, y string) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("bad test YAML %q: %v", y, err)
	}
	return j
}

// FuzzConfig is the configuration a fuzzer picks: the default, each TLS
// mode, and each switch that turns a rule off.
func FuzzConfig(pick uint8) *config.Config {
	cfg := config.Default()
	off := false
	switch pick % 5 {
	case 1:
		cfg.TLS.Mode, cfg.TLS.ClusterIssuer = config.TLSModeCertManager, "letsencrypt"
	case 2:
		cfg.TLS.Mode = config.TLSModeNone
	case 3:
		cfg.DenySnippets = &off
	case 4:
		cfg.ConvertLoadBalancedServices = &off
	}
	return cfg
}
