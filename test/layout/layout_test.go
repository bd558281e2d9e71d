// Package layout checks the direction of imports in the module: what ships
// never depends on what tests it, and the policies, which the webhook, the
// controller and the CLI all call, depend on nothing of theirs.
package layout

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "devgate.dev/devgate"

// forbidden lists, per tree of the module, the trees its non-test code must
// not import.
var forbidden = map[string][]string{
	"policies": {"internal", "webhook", "cmd", "test"},
	"webhook":  {"internal", "cmd", "test"},
	"internal": {"cmd", "test"},
	"cmd":      {"test"},
}

func TestImportsPointDownward(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if path, err := exec.LookPath("go"); err == nil {
		goTool = path
	}
	cmd := exec.Command(goTool, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	packages := 0
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		packages++
		from := tree(fields[0])
		for _, imported := range fields[1:] {
			to := tree(imported)
			for _, banned := range forbidden[from] {
				if to == banned {
					t.Errorf("%s imports %s: %s/ must not depend on %s/", fields[0], imported, from, banned)
				}
			}
		}
	}
	if packages < 20 {
		t.Fatalf("go list found %d packages of %s, expected the whole module", packages, module)
	}
}

// tree is the top-level directory of a package of this module, or "" for
// packages of other modules.
func tree(importPath string) string {
	rest, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

// TestTreeOf keeps the classification honest, so the check above cannot pass
// by classifying nothing.
func TestTreeOf(t *testing.T) {
	for path, want := range map[string]string{
		module + "/policies/engine":  "policies",
		module + "/test/bench":       "test",
		module + "/webhook":          "webhook",
		"k8s.io/api/core/v1":         "",
		"devgate.dev/devgateway/pkg": "",
	} {
		if got := tree(path); got != want {
			t.Errorf("tree(%q) = %q, want %q", path, got, want)
		}
	}
}
