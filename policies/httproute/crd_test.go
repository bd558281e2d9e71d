package httproute_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/policies/httproute"
)

// crdValidator holds an HTTPRoute to the v1 schema of the Gateway API
// module's experimental CRD, as the API server does after the mutating
// webhooks: defaults, then the OpenAPI validation (types, enums, patterns,
// required fields, bounds) and the CRD's CEL rules.
type crdValidator struct {
	structural *structuralschema.Structural
	openAPI    validation.SchemaValidator
	cel        *cel.Validator
}

// experimentalCRD reads the experimental-channel HTTPRoute CRD that the
// Gateway API module in go.mod ships.
func experimentalCRD(t *testing.T) *crdValidator {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locating the Gateway API module: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "experimental", "gateway.networking.k8s.io_httproutes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != "v1" {
			continue
		}
		var internal apiextensionsinternal.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			t.Fatal(err)
		}
		openAPI, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			t.Fatal(err)
		}
		return &crdValidator{structural: s, openAPI: openAPI, cel: cel.NewValidator(s, true, celconfig.PerCallLimit)}
	}
	t.Fatal("the CRD has no v1 version")
	return nil
}

// validate returns the API server's objections to the object in wire form.
func (v *crdValidator) validate(t *testing.T, raw []byte) field.ErrorList {
	t.Helper()
	// Numbers as the API server reads them: int64 where they are whole.
	var obj map[string]any
	if err := utiljson.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	structuraldefaulting.Default(obj, v.structural)
	errs := validation.ValidateCustomResource(nil, obj, v.openAPI)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// TestMutatedRoutesPassTheCRD: what devgate writes (the Gateway parentRef, a
// generated hostname, the ExternalAuth filter on every rule) is valid for the
// experimental-channel CRD, so the API server stores the mutated route; and
// the CRD itself refuses what it should, or the check would prove nothing.
func TestMutatedRoutesPassTheCRD(t *testing.T) {
	crd := experimentalCRD(t)
	if errs := crd.validate(t, routeJSON(t, "{name: web, namespace: alice}", "{hostnames: ['*..bad'], rules: [{filters: [{type: ExternalAuth}]}]}")); len(errs) == 0 {
		t.Fatal("the CRD validation accepts an invalid route")
	}
	cases := []struct{ name, meta, spec string }{
		{"public, generated hostname and Gateway", "{name: web}", "{rules: [{backendRefs: $BACKEND}]}"},
		{"private, rules with filters", "{name: web, annotations: {dev.okteto.com/private: 'true'}}",
			"{rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: $BACKEND}, {filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: b}]}}], backendRefs: $BACKEND}]}"},
		{"private without rules", "{name: web, annotations: {dev.okteto.com/private: 'true', dev.okteto.com/generate-host: api}}", "{}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := routesConfig()
			cfg.Endpoints.Gateway.SectionName = "https"
			in := engine.Input{Operation: policies.Create, Kind: httproute.GVK, Namespace: "alice", Object: routeJSON(t, c.meta, c.spec)}
			out := eng.Admit(in, cfg, nil)
			if !out.Allowed() {
				t.Fatalf("denied: %v", out.Denials)
			}
			mutated := applyPatch(t, in.Object, out)
			if errs := crd.validate(t, mutated); len(errs) > 0 {
				t.Fatalf("the CRD refuses the mutated route %s: %v", mutated, errs.ToAggregate())
			}
		})
	}
}
