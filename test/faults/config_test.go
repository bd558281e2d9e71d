package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInvalidConfigurationKeepsLastGood replaces the configuration file by
// an invalid one: the last good configuration stays in force, the error is
// logged, and /metrics shows it; a valid file then takes over.
func TestInvalidConfigurationKeepsLastGood(t *testing.T) {
	c := startCluster(t, false)
	logs := &logBuffer{}
	opts := c.serverOptions(logs.logger())
	metricsAddr := freeAddr(t)
	opts.MetricsBindAddress = metricsAddr
	startServer(t, opts)
	c.waitForWebhook(t)
	errorsBefore := scrape(t, metricsAddr, `devgate_config_reloads_total{result="error"}`)

	writeFile(t, c.configPath, "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomian: typo.example\n")
	eventually(t, 10*time.Second, func() error {
		if got := scrape(t, metricsAddr, "devgate_config_last_reload_successful"); got != "0" {
			return fmt.Errorf("devgate_config_last_reload_successful = %q", got)
		}
		return nil
	})
	if after := scrape(t, metricsAddr, `devgate_config_reloads_total{result="error"}`); after == errorsBefore {
		t.Fatalf("devgate_config_reloads_total{result=\"error\"} stayed at %q", after)
	}
	if !strings.Contains(logs.String(), "invalid configuration: keeping the last good one") || !strings.Contains(logs.String(), `unknown field \"domian\"`) {
		t.Fatalf("the error is not logged with its reason:\n%s", logs)
	}
	// Admission goes on with the last good configuration.
	if err := c.dryRun(context.Background(), "default", "web"); err != nil {
		t.Fatalf("after an invalid configuration: %v", err)
	}

	writeFile(t, c.configPath, strings.Replace(baseConfig, domain, "dev.example.org", 1))
	eventually(t, 10*time.Second, func() error {
		if got := scrape(t, metricsAddr, "devgate_config_last_reload_successful"); got != "1" {
			return fmt.Errorf("devgate_config_last_reload_successful = %q", got)
		}
		err := c.dryRun(context.Background(), "default", "web")
		if err == nil || !strings.Contains(err.Error(), "https://web-default.dev.example.org") {
			return fmt.Errorf("the new domain is not in force: %v", err)
		}
		return nil
	})
}

// scrape returns the value of one series on /metrics, "" when absent.
func scrape(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
