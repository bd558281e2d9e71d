package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCookieSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("s", 32)
	if got, err := readCookieSecret(write("ok", long+"\n")); err != nil || string(got) != long {
		t.Fatalf("32 bytes and a newline: %q, %v", got, err)
	}
	if _, err := readCookieSecret(write("short", strings.Repeat("s", 31)+"\n")); err == nil {
		t.Fatal("31 bytes accepted")
	}
	if _, err := readCookieSecret(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
	t.Setenv(cookieSecretEnv, "")
	if _, err := readCookieSecret(""); err == nil {
		t.Fatal("no secret accepted")
	}
	t.Setenv(cookieSecretEnv, long)
	if got, err := readCookieSecret(""); err != nil || string(got) != long {
		t.Fatalf("from the environment: %q, %v", got, err)
	}
}

// The auth command refuses bad usage before it needs a cluster: exit 2.
func TestAuthCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: okteto.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too-short"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(cookieSecretEnv, "")
	for name, args := range map[string][]string{
		"no config":     {"auth"},
		"bad config":    {"auth", "--config", short, "--cookie-secret-file", short},
		"no secret":     {"auth", "--config", cfg},
		"short secret":  {"auth", "--config", cfg, "--cookie-secret-file", short},
		"unknown flag":  {"auth", "--config", cfg, "--no-such-flag"},
		"bad duration":  {"auth", "--config", cfg, "--access-cache-ttl", "ten"},
		"extra operand": {"auth", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			root := newRootCommand()
			root.SetArgs(args)
			root.SetOut(new(strings.Builder))
			root.SetErr(new(strings.Builder))
			err := root.Execute()
			var usage usageError
			if !errors.As(err, &usage) {
				t.Fatalf("error %v is not a usage error (exit 2)", err)
			}
		})
	}
}

func TestAuthCommandMetricsFlag(t *testing.T) {
	cmd, _, err := newRootCommand().Find([]string{"auth"})
	if err != nil {
		t.Fatal(err)
	}
	f := cmd.Flags().Lookup("metrics-bind-address")
	if f == nil || f.DefValue != "0" {
		t.Fatalf("--metrics-bind-address: %+v, want a flag defaulting to 0 (disabled)", f)
	}
}
