package check

import (
	"strings"
	"testing"

	"devgate.dev/devgate/policies/all"
)

// TestRunWarnsOnAnExpiredToken: a token Secret given with --old whose token
// has expired (creation time plus ttl, the rule of tokens.Expiry) is warned
// about when its new version is checked.
func TestRunWarnsOnAnExpiredToken(t *testing.T) {
	secret := func(extra string) string {
		return `apiVersion: v1
kind: Secret
metadata: {name: ci, namespace: team-a` + extra + `}
type: devgate.dev/token
stringData: {token: "k3J9x!Qm7pL2vZ8w", user-id: devgate-cli, ttl: "3600000", description: ci}
`
	}
	files := map[string]string{
		"new.yaml": secret(""),
		"old.yaml": secret(", creationTimestamp: '2020-01-01T00:00:00Z'"),
	}
	report, _, _, err := run(t, files, Options{Filenames: []string{"new.yaml"}, Old: []string{"old.yaml"}, Engine: all.Engine()})
	if err != nil {
		t.Fatal(err)
	}
	r := report.Results[0]
	if r.Operation != "UPDATE" || !r.Allowed || len(r.Warnings) != 1 ||
		!strings.HasPrefix(r.Warnings[0], "stringData[ttl]: the token expired at 2020-01-01T01:00:00Z") {
		t.Fatalf("result %+v", r)
	}
}
