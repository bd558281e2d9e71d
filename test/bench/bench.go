// Package bench holds what devgate's performance measurements share: webhook
// servers on loopback TLS (devgate's and an allow-all controller-runtime peer),
// a load generator that records every request's latency, and percentiles. The
// benchmarks in this package and the soak (hack/soak) use it; docs/benchmarks.md
// has the figures.
package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
	"devgate.dev/devgate/test/bench/objects"
	"devgate.dev/devgate/test/testcert"
	devgatewebhook "devgate.dev/devgate/webhook"
)

// AllowPath is where the allow-all peer webhook serves.
const AllowPath = "/allow"

// Cert is a serving certificate for 127.0.0.1 and the pool that trusts its CA.
type Cert struct {
	TLS  tls.Certificate
	Pool *x509.CertPool
}

// NewCert makes a P-256 certificate for 127.0.0.1, valid for a day, signed by
// a new CA.
func NewCert() (*Cert, error) {
	ca, err := testcert.NewCA("devgate-bench-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.Sign("devgate-bench", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	return &Cert{TLS: serving.TLS, Pool: ca.Pool()}, nil
}

// Client returns an HTTP client that trusts cert and keeps up to conns
// connections per server. It speaks HTTP/2 when the server offers it, as
// kube-apiserver's webhook client does.
func (c *Cert) Client(conns int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: c.Pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
		},
	}
}

// staticConfig is a configuration that never reloads.
type staticConfig struct{ cfg *config.Config }

func (s staticConfig) Current() *config.Config { return s.cfg }

// Serve starts a controller-runtime webhook server on a free loopback port
// with the handlers given by path, as `devgate serve` does (same server, TLS
// options and instrumentation), and returns its base URL once it accepts
// connections. It stops when ctx ends.
func Serve(ctx context.Context, cert *Cert, handlers map[string]http.Handler) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1",
		Port: port,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS12
			c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert.TLS, nil }
		}},
	})
	for path, h := range handlers {
		srv.Register(path, h)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(ctx) }()
	for start := time.Now(); srv.StartedChecker()(nil) != nil; {
		select {
		case err := <-errc:
			return "", fmt.Errorf("webhook server: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Second {
			return "", errors.New("webhook server did not start within 10s")
		}
	}
	return fmt.Sprintf("https://127.0.0.1:%d", port), nil
}

// Workload is the benchmark mix of n objects as the two webhooks receive it:
// for /mutate the objects as written, for /validate the objects /mutate made
// of them, as the API server sends them.
func Workload(n int) (mutate, validate [][]byte) {
	eng := all.Engine()
	for i := range n {
		obj := objects.Object(i)
		mutate = append(mutate, objects.Review(i))
		out := eng.Mutate(EngineInput(obj), config.Default(), nil)
		validate = append(validate, objects.ReviewOf(i, out.Object))
	}
	return mutate, validate
}

// EngineInput is obj as a CREATE by the workload's requester.
func EngineInput(obj runtime.Object) engine.Input {
	return engine.Input{Operation: policies.Create, Kind: obj.GetObjectKind().GroupVersionKind(),
		Object: objects.Raw(obj), User: objects.Requester}
}

// DevgateHandlers are devgate's two webhooks over every policy, as `devgate
// serve` registers them, with the built-in configuration.
func DevgateHandlers(lookup policies.Lookup) map[string]http.Handler {
	eng := all.Engine()
	cfg := staticConfig{config.Default()}
	return map[string]http.Handler{
		devgatewebhook.MutatePath: &devgatewebhook.Server{Name: "mutate",
			Handler: &devgatewebhook.Handler{Engine: eng, Config: cfg, Lookup: lookup, Mutating: true}},
		devgatewebhook.ValidatePath: &devgatewebhook.Server{Name: "validate",
			Handler: &devgatewebhook.Handler{Engine: eng, Config: cfg, Lookup: lookup}},
	}
}

// AllowAllHandlers is the peer: controller-runtime's own admission webhook
// with a handler that admits everything, the least any webhook can do.
func AllowAllHandlers() map[string]http.Handler {
	allow := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	})
	return map[string]http.Handler{AllowPath: &webhook.Admission{Handler: allow}}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Target is one webhook URL and the request bodies to send it in turn.
type Target struct {
	URL    string
	Bodies [][]byte
}

// Result is what a load run saw.
type Result struct {
	Requests  int
	Errors    int
	FirstErr  error
	Elapsed   time.Duration
	Latencies []time.Duration // one per request, sorted once Percentile is called
}

// Throughput is the requests per second of the run.
func (r *Result) Throughput() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	if !slices.IsSorted(r.Latencies) {
		slices.Sort(r.Latencies)
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

// Merge adds another run's requests to r.
func (r *Result) Merge(o Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
	r.Elapsed += o.Elapsed
	r.Latencies = append(r.Latencies, o.Latencies...)
}

// Run sends n requests to t from concurrency workers as fast as they are
// answered, each worker waiting for its answer before sending the next (a
// closed loop, like the API server's admission of concurrent writes).
func Run(client *http.Client, t Target, n, concurrency int) Result {
	return closedLoop(n, concurrency, func(i int) error {
		return post(client, t.URL, t.Bodies[i%len(t.Bodies)])
	})
}

// closedLoop makes n calls of send, numbered from 0, from concurrency
// workers, each making its next as soon as its last returns, and records
// each call's latency and error.
func closedLoop(n, concurrency int, send func(i int) error) Result {
	var (
		next   atomic.Int64
		mu     sync.Mutex
		result = Result{Latencies: make([]time.Duration, 0, n)}
		wg     sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/concurrency+1)
			var errs int
			var firstErr error
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				t0 := time.Now()
				err := send(int(i))
				lat = append(lat, time.Since(t0))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			mu.Lock()
			result.Latencies = append(result.Latencies, lat...)
			result.Errors += errs
			if result.FirstErr == nil {
				result.FirstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	result.Elapsed = time.Since(start)
	result.Requests = n
	return result
}

// alternateRounds sends n requests of each of sides sides in ten rounds,
// rotating which side goes first, so drifting machine load falls on all
// alike, and returns each side's merged result. run(side, k) sends k
// requests of side.
func alternateRounds(n, sides int, run func(side, k int) Result) []Result {
	const rounds = 10
	res := make([]Result, sides)
	for round := range rounds {
		k := n / rounds
		if round < n%rounds {
			k++
		}
		if k == 0 {
			continue
		}
		for j := range sides {
			side := (round + j) % sides
			res[side].Merge(run(side, k))
		}
	}
	return res
}

// RunRate sends requests to t at a fixed rate for d, or until ctx ends: an
// open loop, so a slow answer does not slow the sender down. A tick the
// scheduler delays is made up at the next one, so the rate holds on average.
func RunRate(ctx context.Context, client *http.Client, t Target, rate int, d time.Duration) Result {
	var (
		mu     sync.Mutex
		result Result
		wg     sync.WaitGroup
	)
	send := func(i int) {
		t0 := time.Now()
		err := post(client, t.URL, t.Bodies[i%len(t.Bodies)])
		lat := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		result.Requests++
		result.Latencies = append(result.Latencies, lat)
		if err != nil {
			result.Errors++
			if result.FirstErr == nil {
				result.FirstErr = err
			}
		}
	}
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	start := time.Now()
	deadline := time.After(d)
	sent := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case now := <-ticker.C:
			due := int(now.Sub(start).Seconds() * float64(rate))
			for ; sent < due; sent++ {
				wg.Go(func() { send(sent) })
			}
		}
	}
	wg.Wait()
	result.Elapsed = time.Since(start)
	return result
}

// post sends one AdmissionReview and checks that an AdmissionReview came
// back.
func post(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, answer)
	}
	if !bytes.Contains(answer, []byte(`"response"`)) {
		return fmt.Errorf("%s: no AdmissionReview response: %s", url, answer)
	}
	return nil
}

// WriteFiles writes the certificate and its key as tls.crt and tls.key in
// dir, the names controller-runtime's webhook server reads.
func (c *Cert) WriteFiles(dir string) error {
	key, err := x509.MarshalPKCS8PrivateKey(c.TLS.PrivateKey)
	if err != nil {
		return err
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.TLS.Certificate[0]})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
}

// LoadCert reads what WriteFiles wrote.
func LoadCert(dir string) (*Cert, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	pair.Leaf = leaf
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Cert{TLS: pair, Pool: pool}, nil
}

// RSS returns the resident set size of process pid in bytes, from /proc.
func RSS(pid int) (uint64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}
