package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/test/bench/objects"
	devgatewebhook "devgate.dev/devgate/webhook"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	code := m.Run()
	if runningControlPlane != nil {
		runningControlPlane.stop()
	}
	os.Exit(code)
}

// mix is the benchmark workload (Workload) of 400 objects, a hundred of each
// kind, names and tokens all distinct.
type mix struct {
	mutate, validate [][]byte
}

var loadMix = sync.OnceValue(func() mix {
	var m mix
	m.mutate, m.validate = Workload(400)
	return m
})

// servers are devgate's webhook server and the allow-all peer, started once
// for all the benchmarks of a run.
type servers struct {
	client         *http.Client
	devgate, allow string
}

var startServers = sync.OnceValues(func() (*servers, error) {
	cert, err := NewCert()
	if err != nil {
		return nil, err
	}
	// They live as long as the benchmark binary.
	ctx := context.Background()
	// The token index of a cluster with 1,000 labelled ServiceAccounts, as
	// `devgate serve` has it: the uniqueness check pays a real lookup.
	tokens, _, err := startTokenCache(1000)
	if err != nil {
		return nil, err
	}
	dev, err := Serve(ctx, cert, DevgateHandlers(tokensOnly{tokens.index}))
	if err != nil {
		return nil, err
	}
	allow, err := Serve(ctx, cert, AllowAllHandlers())
	if err != nil {
		return nil, err
	}
	return &servers{client: cert.Client(64), devgate: dev, allow: allow + AllowPath}, nil
})

// BenchmarkWebhook compares devgate's webhook server with an allow-all
// controller-runtime webhook, both TLS on loopback in this process, through
// the same HTTP/2 client at the same concurrency. Each iteration is one
// AdmissionReview to each server; the two alternate in ten rounds so drifting
// machine load falls on both alike, and the ratios come from this one run.
// ns/op is meaningless here and left out; read the reported metrics.
func BenchmarkWebhook(b *testing.B) {
	s, err := startServers()
	if err != nil {
		b.Fatal(err)
	}
	m := loadMix()
	for _, hook := range []struct {
		name   string
		path   string
		bodies [][]byte
	}{{"mutate", devgatewebhook.MutatePath, m.mutate}, {"validate", devgatewebhook.ValidatePath, m.validate}} {
		for _, c := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", hook.name, c), func(b *testing.B) {
				dev := Target{URL: s.devgate + hook.path, Bodies: hook.bodies}
				peer := Target{URL: s.allow, Bodies: m.mutate}
				// Warm both up: connections, TLS sessions, first-use allocations.
				for _, t := range []Target{dev, peer} {
					if r := Run(s.client, t, 2*len(t.Bodies), c); r.Errors > 0 {
						b.Fatalf("warm-up: %d errors, first: %v", r.Errors, r.FirstErr)
					}
				}
				// The allow-all peer first in the first round.
				targets := []Target{peer, dev}
				b.ResetTimer()
				r := alternateRounds(b.N, len(targets), func(side, n int) Result {
					return Run(s.client, targets[side], n, c)
				})
				b.StopTimer()
				peerR, devR := r[0], r[1]
				if devR.Errors+peerR.Errors > 0 {
					b.Fatalf("devgate %d errors (%v), allow-all %d errors (%v)", devR.Errors, devR.FirstErr, peerR.Errors, peerR.FirstErr)
				}
				report(b, "devgate", &devR)
				report(b, "allowall", &peerR)
				b.ReportMetric(devR.Throughput()/peerR.Throughput(), "throughput-ratio")
				b.ReportMetric(float64(devR.Percentile(99))/float64(peerR.Percentile(99)), "p99-ratio")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func report(b *testing.B, name string, r *Result) {
	b.ReportMetric(r.Throughput(), name+"-req/s")
	b.ReportMetric(float64(r.Percentile(50).Microseconds()), name+"-p50-µs")
	b.ReportMetric(float64(r.Percentile(99).Microseconds()), name+"-p99-µs")
}

// BenchmarkServeHTTP is one AdmissionReview through devgate's HTTP handler in
// process, without the network: decoding the review, the policies, the patch
// and encoding the answer. The uniqueness check has no index to ask here;
// BenchmarkTokenIndex measures that lookup.
func BenchmarkServeHTTP(b *testing.B) {
	handlers := DevgateHandlers(policies.NoLookup{})
	m := loadMix()
	for k, kind := range objects.Kinds {
		for _, hook := range []struct {
			path string
			body []byte
		}{{devgatewebhook.MutatePath, m.mutate[k]}, {devgatewebhook.ValidatePath, m.validate[k]}} {
			b.Run(kind+hook.path, func(b *testing.B) {
				h := handlers[hook.path]
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, hook.path, bytes.NewReader(hook.body))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allowed":true`)) {
						b.Fatalf("HTTP %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
