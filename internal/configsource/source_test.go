package configsource

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

const good = "apiVersion: devgate.dev/v1alpha1\nkind: Config\ndomain: a.example\n"

// metricValue reads a series from the registry /metrics serves.
func metricValue(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == label && l.GetValue() == value)
			}
			if match {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestInvalidReloadKeepsLastGoodAndIsCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	src, err := Load(path, []string{"devgate"}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	changed := src.Changed()
	errorsBefore := metricValue(t, "devgate_config_reloads_total", "result", "error")

	write(good + "domian: typo\n")
	if ok, err := src.Reload(); ok || err == nil {
		t.Fatalf("Reload of an invalid file = %v, %v", ok, err)
	}
	if d := src.Current().Domain; d != "a.example" {
		t.Fatalf("domain = %q after an invalid file", d)
	}
	if src.Current().Managed("devgate") {
		t.Fatal("devgate's own namespace became managed")
	}
	if v := metricValue(t, "devgate_config_last_reload_successful", "", ""); v != 0 {
		t.Fatalf("devgate_config_last_reload_successful = %v", v)
	}
	if v := metricValue(t, "devgate_config_reloads_total", "result", "error"); v != errorsBefore+1 {
		t.Fatalf("error reloads = %v, want %v", v, errorsBefore+1)
	}
	// The same invalid content is not reported again on every poll.
	if ok, err := src.Reload(); ok || err != nil {
		t.Fatalf("second Reload of the same invalid file = %v, %v", ok, err)
	}
	select {
	case <-changed:
		t.Fatal("an invalid file announced a change")
	default:
	}

	write(good + "ingressClassName: nginx\n")
	if ok, err := src.Reload(); !ok || err != nil {
		t.Fatalf("Reload of a valid file = %v, %v", ok, err)
	}
	if src.Current().IngressClassName != "nginx" {
		t.Fatal("the valid file is not in force")
	}
	if v := metricValue(t, "devgate_config_last_reload_successful", "", ""); v != 1 {
		t.Fatalf("devgate_config_last_reload_successful = %v", v)
	}
	select {
	case <-changed:
	default:
		t.Fatal("a valid change was not announced")
	}
}
