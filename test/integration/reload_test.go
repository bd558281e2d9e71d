package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(configPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigurationReloadsWithoutRestart(t *testing.T) {
	ns := namespace(t, "reload")
	mustKubectl(t, service(ns, "web", "true"), "apply", "-f", "-")
	eventually(t, 10*time.Second, func() error { _, err := getIngress("web", ns); return err })
	t.Cleanup(func() {
		writeConfig(t, baseConfig)
		eventually(t, 10*time.Second, func() error {
			out, _, _ := kubectl(t, service(ns, "probe", "true"), "apply", "--dry-run=server", "-o", "jsonpath={.metadata.annotations.devgate\\.dev/endpoint}", "-f", "-")
			if !strings.HasSuffix(out, ".okteto.example.com") {
				return fmt.Errorf("endpoint %q: old configuration not back", out)
			}
			return nil
		})
	})

	writeConfig(t, strings.Replace(baseConfig, "domain: okteto.example.com", "domain: dev.example.org", 1))
	// The webhook admits with the new domain...
	eventually(t, 10*time.Second, func() error {
		out := mustKubectl(t, service(ns, "api", "true"), "apply", "--dry-run=server", "-o", "jsonpath={.metadata.annotations.devgate\\.dev/endpoint}", "-f", "-")
		if out != "https://api-reload.dev.example.org" {
			return fmt.Errorf("endpoint = %q", out)
		}
		return nil
	})
	// ...and the controller moves the existing endpoint to it.
	eventually(t, 10*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		if h := ing.Spec.Rules[0].Host; h != "web-reload.dev.example.org" {
			return fmt.Errorf("host = %q", h)
		}
		return nil
	})

	// An invalid file keeps the last good configuration in force.
	writeConfig(t, "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomian: typo.example\n")
	time.Sleep(time.Second)
	out := mustKubectl(t, service(ns, "api", "true"), "apply", "--dry-run=server", "-o", "jsonpath={.metadata.annotations.devgate\\.dev/endpoint}", "-f", "-")
	if out != "https://api-reload.dev.example.org" {
		t.Fatalf("endpoint = %q after an invalid configuration", out)
	}
}
