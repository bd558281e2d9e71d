package main

import (
	"strings"
	"testing"
)

// Bad usage is refused before any cluster is contacted: exit 2.
func TestInviteUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no user":              {"invite"},
		"invalid user":         {"invite", "Bob_1"},
		"user too long":        {"invite", strings.Repeat("a", 64)},
		"invalid namespace":    {"invite", "bob", "--namespace", "Team"},
		"two users":            {"invite", "bob", "carol"},
		"list and user":        {"invite", "bob", "--list"},
		"revoke invalid":       {"invite", "--revoke", "B"},
		"namespace with list":  {"invite", "--list", "--namespace", "a"},
		"unknown flag":         {"invite", "bob", "--nope"},
		"bad configuration":    {"invite", "bob", "--config", "/nonexistent/config.yaml"},
		"kubeconfig not given": {"invite", "bob", "--namespace", "team_a", "--kubeconfig", "/nonexistent"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut strings.Builder
			if code := run(args, strings.NewReader(""), &out, &errOut); code != 2 || out.String() != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and no link", code, out.String(), errOut.String())
			}
		})
	}
}

// An unreachable cluster is a failure (1), not bad usage.
func TestInviteWithoutCluster(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"invite", "bob", "--kubeconfig", "/nonexistent/kubeconfig"}, strings.NewReader(""), &out, &errOut); code != 1 {
		t.Fatalf("exit %d (%s), want 1", code, errOut.String())
	}
}
