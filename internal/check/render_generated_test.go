package check

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/tokens"
)

// generatedManifests are a token Secret without a token (data), one with an
// empty token in stringData, and the Keptn Secret with its key present and
// empty: three tokens the webhook would generate.
const generatedManifests = `apiVersion: v1
kind: Secret
metadata: {name: ci, namespace: dev}
type: devgate.dev/token
data: {ttl: MzYwMDAwMA==}
---
apiVersion: v1
kind: Secret
metadata: {name: cd, namespace: dev}
type: devgate.dev/token
stringData: {token: "", ttl: "3600000"}
---
apiVersion: v1
kind: Secret
metadata: {name: keptn-api-token, namespace: keptn}
data: {keptn-api-token: ""}
`

// longRun finds what a generated token (40 characters of [A-Za-z0-9]) or its
// base64 (56 characters) would look like; the manifests hold nothing as long.
var longRun = regexp.MustCompile(`[A-Za-z0-9+/]{30,}`)

var userAlice = authenticationv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}}

func runGenerated(t *testing.T, output, manifests string) (*Report, string, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Tokens.GuardedSecrets = []config.GuardedSecret{{Namespace: "keptn", Name: "keptn-api-token", Key: "keptn-api-token"}}
	report, stdout, stderr, err := run(t, map[string]string{"t.yaml": manifests},
		Options{Filenames: []string{"t.yaml"}, Output: output, Config: cfg, Engine: all.Engine(), User: userAlice})
	if err != nil {
		t.Fatal(err)
	}
	if report.Summary.Objects != 3 || report.Summary.Mutated != 3 || report.Summary.Denied != 0 {
		t.Fatalf("summary %+v, want 3 objects mutated; stdout:\n%s\nstderr:\n%s", report.Summary, stdout, stderr)
	}
	if m := longRun.FindString(stdout + stderr); m != "" {
		t.Fatalf("output shows a generated value %q:\n%s\n%s", m, stdout, stderr)
	}
	return report, stdout, stderr
}

func TestRunTextGeneratedToken(t *testing.T) {
	report, stdout, _ := runGenerated(t, OutputText, generatedManifests)
	for _, want := range []string{
		`(?m)^MUTATE +Secret/dev/ci +add /data/token, add /data/user-id\n  warning: data\[token\]: a token is generated at admission`,
		`(?m)^MUTATE +Secret/dev/cd +.*replace /stringData/token.*\n  warning: stringData\[token\]: a token is generated at admission`,
		`(?m)^MUTATE +Secret/keptn/keptn-api-token +replace /data/keptn-api-token\n  warning: data\[keptn-api-token\]: a token is generated at admission`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("text output does not match %q:\n%s", want, stdout)
		}
	}
	// Nor does the returned report hold a value.
	for _, r := range report.Results {
		for _, op := range r.Patch {
			if strings.HasSuffix(op.Path, "token") && op.Value != GeneratedPlaceholder {
				t.Errorf("%s: patch %s holds %v", r.ref, op.Path, op.Value)
			}
		}
	}
}

func TestRunJSONGeneratedToken(t *testing.T) {
	_, stdout, _ := runGenerated(t, OutputJSON, generatedManifests)
	var doc struct {
		Results []struct {
			Name  string
			Patch []struct {
				Op, Path string
				Value    any
			}
			Object struct {
				Data, StringData map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"ci": {"/data/token", "token"}, "cd": {"/stringData/token", "token"}, "keptn-api-token": {"/data/keptn-api-token", "keptn-api-token"}}
	for _, r := range doc.Results {
		w := want[r.Name]
		found := false
		for _, op := range r.Patch {
			if op.Path == w[0] {
				found = true
				if op.Value != GeneratedPlaceholder {
					t.Errorf("%s: patch %s = %v, want the placeholder", r.Name, op.Path, op.Value)
				}
			}
		}
		if !found {
			t.Errorf("%s: no patch of %s: %+v", r.Name, w[0], r.Patch)
		}
		// The object keeps the key empty: applied, it gets a token generated.
		m := r.Object.Data
		if strings.HasPrefix(w[0], "/stringData/") {
			m = r.Object.StringData
		}
		if v, ok := m[w[1]]; !ok || v != "" {
			t.Errorf("%s: object %s = %q (present %v), want empty", r.Name, w[0], v, ok)
		}
	}
}

// A token Secret created without data at all: the patch adds data whole, and
// only its token becomes the placeholder.
func TestRunJSONGeneratedTokenInAddedData(t *testing.T) {
	manifest := "apiVersion: v1\nkind: Secret\nmetadata: {name: bare, namespace: dev}\ntype: devgate.dev/token\n"
	report, stdout, _, err := run(t, map[string]string{"t.yaml": manifest},
		Options{Filenames: []string{"t.yaml"}, Output: OutputJSON, Engine: all.Engine(), User: userAlice})
	if err != nil {
		t.Fatal(err)
	}
	if m := longRun.FindString(stdout); m != "" {
		t.Fatalf("output shows a generated value %q:\n%s", m, stdout)
	}
	r := report.Results[0]
	if len(r.Patch) != 1 || r.Patch[0].Path != "/data" {
		t.Fatalf("patch %+v, want one add of /data", r.Patch)
	}
	data := r.Patch[0].Value.(map[string]any)
	if data["token"] != GeneratedPlaceholder || data["user-id"] == GeneratedPlaceholder || data["user-id"] == nil {
		t.Fatalf("added data %v: want the placeholder for token only", data)
	}
	if !strings.Contains(string(r.Object), `"token":""`) {
		t.Fatalf("object %s: want an empty token", r.Object)
	}
}

// The -o yaml stream is appliable: the keys stay empty, so checking it again
// (as applying it would admit it) generates the tokens again.
func TestRunYAMLGeneratedToken(t *testing.T) {
	_, stdout, stderr := runGenerated(t, OutputYAML, generatedManifests)
	for _, want := range []string{"  token: \"\"\n", "  keptn-api-token: \"\"\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("yaml output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "data[token]"+tokens.GeneratedNote) {
		t.Errorf("stderr lacks the note:\n%s", stderr)
	}
	runGenerated(t, OutputText, stdout)
}
