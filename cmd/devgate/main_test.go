package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	allowedService = `apiVersion: v1
kind: Service
metadata: {name: web, annotations: {dev.okteto.com/auto-ingress: "true"}}
spec:
  ports: [{name: http, port: 80}]
`
	deniedService = `apiVersion: v1
kind: Service
metadata: {name: bad, annotations: {dev.okteto.com/auto-ingress: "yes"}}
spec:
  ports: [{name: http, port: 80}]
`
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExitStatus runs the binary's command line as a user would and checks the
// exit status of SPEC 6 and 8 and what each invocation prints.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	allowed := writeFile(t, dir, "allowed.yaml", allowedService)
	denied := writeFile(t, dir, "denied.yaml", deniedService)
	broken := writeFile(t, dir, "broken.yaml", allowedService+"---\nkind: [\n")
	badConfig := writeFile(t, dir, "bad-config.yaml", "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: example.com\ndomian: typo\n")
	noDomain := writeFile(t, dir, "no-domain.yaml", "apiVersion: devgate.dev/v1alpha1\nkind: Config\n")
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "allowed", args: []string{"check", "-f", allowed}, wantCode: 0,
			wantStdout: []string{"MUTATE", "Service/default/web", "Ingress/default/web"}},
		{name: "denied", args: []string{"check", "-f", allowed, "-f", denied}, wantCode: 1,
			wantStdout: []string{"MUTATE", "DENY", "Service/default/bad", `Unsupported value: "yes"`}},
		{name: "stdin", args: []string{"check", "-f", "-", "-n", "team-a"}, stdin: deniedService, wantCode: 1,
			wantStdout: []string{"Service/team-a/bad"}},
		{name: "json", args: []string{"check", "-f", allowed, "-o", "json"}, wantCode: 0,
			wantStdout: []string{`"summary"`, `"mutated": 1`}},
		{name: "yaml denials go to stderr", args: []string{"check", "-f", denied, "-o", "yaml"}, wantCode: 1,
			wantStderr: []string{"Service/default/bad"}},
		{name: "missing file", args: []string{"check", "-f", filepath.Join(dir, "nope.yaml")}, wantCode: 2,
			wantStderr: []string{"nope.yaml"}},
		{name: "malformed document", args: []string{"check", "-f", broken}, wantCode: 2,
			wantStderr: []string{"broken.yaml", "document 2"}},
		{name: "no -f", args: []string{"check"}, wantCode: 2},
		{name: "bad output", args: []string{"check", "-f", allowed, "-o", "xml"}, wantCode: 2, wantStderr: []string{"xml"}},
		{name: "stray argument", args: []string{"check", allowed}, wantCode: 2, wantStderr: []string{"-f"}},
		{name: "unknown flag", args: []string{"check", "--frobnicate"}, wantCode: 2, wantStderr: []string{"frobnicate"}},
		{name: "bad namespace", args: []string{"check", "-f", allowed, "-n", "Team_A"}, wantCode: 2, wantStderr: []string{"--namespace"}},
		{name: "unknown config field", args: []string{"check", "-f", allowed, "--config", badConfig}, wantCode: 2,
			wantStderr: []string{"domian"}},
		{name: "serve without config", args: []string{"serve"}, wantCode: 2, wantStderr: []string{"--config"}},
		{name: "serve with a stray argument", args: []string{"serve", "now"}, wantCode: 2, wantStderr: []string{"now"}},
		{name: "dev with a stray argument", args: []string{"dev", "now"}, wantCode: 2, wantStderr: []string{"now"}},
		{name: "serve with unknown config field", args: []string{"serve", "--config", badConfig}, wantCode: 2,
			wantStderr: []string{"domian"}},
		{name: "serve without domain", args: []string{"serve", "--config", noDomain}, wantCode: 2,
			wantStderr: []string{"domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestCheckJSONIsOneDocument checks that -o json prints exactly one JSON
// document with the shape of SPEC 6.
func TestCheckJSONIsOneDocument(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "m.yaml", allowedService+"---\n"+deniedService)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "-f", file, "-o", "json"}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	var doc struct {
		Results []map[string]json.RawMessage `json:"results"`
		Summary map[string]int               `json:"summary"`
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one JSON document")
	}
	want := map[string]int{"objects": 2, "allowed": 1, "denied": 1, "mutated": 1, "generated": 1}
	for k, v := range want {
		if doc.Summary[k] != v {
			t.Errorf("summary.%s = %d, want %d (%v)", k, doc.Summary[k], v, doc.Summary)
		}
	}
	for _, key := range []string{"apiVersion", "kind", "namespace", "name", "operation", "allowed", "denials", "warnings", "patch", "object", "generated"} {
		if _, ok := doc.Results[0][key]; !ok {
			t.Errorf("result lacks %q", key)
		}
	}
}
