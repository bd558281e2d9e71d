package ingress

import (
	"strings"
	"testing"

	"devgate.dev/devgate/policies/config"
)

// FuzzIsPrivateValue holds isPrivateValue, which compares without building,
// to privateValue, which builds the value the mutation sets. headers is the
// configured responseHeaders, comma separated.
func FuzzIsPrivateValue(f *testing.F) {
	cfg := config.Default()
	for i, k := range privateKeys {
		pick := uint8(i)
		f.Add(pick, privateValue(k, "alice", cfg), "alice", "X-Auth-Request-User,X-Auth-Request-Email")
		f.Add(pick, privateValue(k, "alice", cfg)+",", "alice", "X-Auth-Request-User,X-Auth-Request-Email")
		f.Add(pick, privateValue(k, "alice", cfg), "bob", "X-Auth-Request-User,X-Auth-Request-Email")
		f.Add(pick, "", "alice", "")
		f.Add(pick, "", "alice", ",")
		f.Add(pick, "A,B", "alice", "A,B")
		f.Add(pick, "A,,B", "alice", "A,,B")
		f.Add(pick, "A,B,", "alice", "A,B")
	}
	f.Fuzz(func(t *testing.T, pick uint8, v, namespace, headers string) {
		key := privateKeys[int(pick)%len(privateKeys)]
		c := *cfg
		c.PrivateEndpoints.ResponseHeaders = nil
		if headers != "" {
			c.PrivateEndpoints.ResponseHeaders = strings.Split(headers, ",")
		}
		if got, want := isPrivateValue(key, v, namespace, &c), v == privateValue(key, namespace, &c); got != want {
			t.Fatalf("isPrivateValue(%q, %q, %q) = %v, want %v (value %q)", key, v, namespace, got, want, privateValue(key, namespace, &c))
		}
	})
}
