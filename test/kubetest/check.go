package kubetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"devgate.dev/devgate/internal/check"
	"devgate.dev/devgate/policies/config"
)

// CheckManifests runs `devgate check -o json` with cfg on manifests, a
// multi-document YAML, as alice would (an authenticated user), and returns
// the report and the documents, one result each, for a parity test to send
// the same documents through the live webhook.
func CheckManifests(t *testing.T, manifests string, cfg *config.Config) (*check.Report, []string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(file, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	report, err := check.Run(check.Options{
		Filenames: []string{file}, Config: cfg, Output: check.OutputJSON,
		User: authenticationv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(manifests, "\n---\n")
	if len(report.Results) != len(docs) {
		t.Fatalf("check read %d objects from %d documents", len(report.Results), len(docs))
	}
	return report, docs
}
