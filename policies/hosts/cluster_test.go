package hosts

import "testing"

func TestClusterNames(t *testing.T) {
	for _, c := range []struct {
		name                     string
		numeric, api, loop, inCD bool
	}{
		{name: "2130706433", numeric: true},
		{name: "127.1", numeric: true},
		{name: "0x7f.0.0.1", numeric: true},
		{name: "0x", numeric: true},
		{name: "0xg.1"},
		{name: "1..2"},
		{name: "kubernetes", api: true},
		{name: "kubernetes.default.svc.cluster.local", api: true, inCD: true},
		{name: "kubernetes.example.com"},
		{name: "localhost", loop: true},
		{name: "a.localhost", loop: true},
		{name: "api.alice.svc", inCD: true},
		{name: "cluster.local", inCD: true},
		{name: "x.cluster.local", inCD: true},
		{name: "xcluster.local"},
	} {
		if got := NumericName(c.name); got != c.numeric {
			t.Errorf("NumericName(%q) = %v", c.name, got)
		}
		if got := APIServerName(c.name); got != c.api {
			t.Errorf("APIServerName(%q) = %v", c.name, got)
		}
		if got := LoopbackName(c.name); got != c.loop {
			t.Errorf("LoopbackName(%q) = %v", c.name, got)
		}
		if got := InsideClusterDomain(c.name, "cluster.local"); got != c.inCD {
			t.Errorf("InsideClusterDomain(%q) = %v", c.name, got)
		}
	}
}
