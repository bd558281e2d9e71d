// Command soak holds devgate's webhook server under a steady load of mixed
// AdmissionReviews and reports errors, latency and the server's RSS over time.
// The server runs in a child process (this binary with -serve) so its RSS is
// its own and not the load generator's. Everything stays on loopback.
//
//	go run ./hack/soak -duration 10m -rate 1000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/test/bench"
	"devgate.dev/devgate/webhook"
)

func main() {
	serve := flag.String("serve", "", "internal: serve the webhooks with the certificate in this directory")
	duration := flag.Duration("duration", 10*time.Minute, "how long to hold the load")
	rate := flag.Int("rate", 1000, "AdmissionReviews per second, half to /mutate and half to /validate")
	every := flag.Duration("every", 30*time.Second, "how often to sample the server's RSS")
	peer := flag.Bool("allow-all", false, "serve the allow-all controller-runtime webhook instead of devgate's, as a control for the machine")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *serve != "" {
		err = serveWebhooks(ctx, *serve, *peer)
	} else {
		err = soak(ctx, *duration, *rate, *every, *peer)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// serveWebhooks is the child: devgate's webhook server, as `devgate serve`
// registers it (or the allow-all peer), until stdin closes or ctx ends. It
// prints its URL.
func serveWebhooks(ctx context.Context, certDir string, peer bool) error {
	cert, err := bench.LoadCert(certDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handlers := bench.DevgateHandlers(policies.NoLookup{})
	if peer {
		// The peer answers on every path the load uses.
		allow := bench.AllowAllHandlers()[bench.AllowPath]
		handlers = map[string]http.Handler{webhook.MutatePath: allow, webhook.ValidatePath: allow}
	}
	url, err := bench.Serve(ctx, cert, handlers)
	if err != nil {
		return err
	}
	fmt.Println(url)
	// The parent holds stdin open while it wants the server.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return nil
}

func soak(ctx context.Context, duration time.Duration, rate int, every time.Duration, peer bool) error {
	dir, err := os.MkdirTemp("", "devgate-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cert, err := bench.NewCert()
	if err != nil {
		return err
	}
	if err := cert.WriteFiles(dir); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-serve", dir}
	server := "devgate"
	if peer {
		args = append(args, "-allow-all")
		server = "allow-all"
	}
	child := exec.CommandContext(ctx, self, args...)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		stdin.Close()
		_ = child.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the server did not start: %v", err)
	}
	base := strings.TrimSpace(line)
	pid := child.Process.Pid

	mutate, validate := bench.Workload(400)
	client := cert.Client(64)
	time.Sleep(2 * time.Second)
	idle, err := bench.RSS(pid)
	if err != nil {
		return err
	}
	fmt.Printf("# %s, %d cores, load %s\n", time.Now().UTC().Format(time.RFC3339), cores(), loadavg())
	fmt.Printf("# %d reviews/s for %s against %s at %s (pid %d)\n", rate, duration, server, base, pid)
	fmt.Printf("%8s %10s\n", "t", "rss_MiB")
	fmt.Printf("%8s %10.1f\n", "idle", mib(idle))

	var wg sync.WaitGroup
	results := make([]bench.Result, 2)
	loadCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	for i, t := range []bench.Target{{URL: base + webhook.MutatePath, Bodies: mutate}, {URL: base + webhook.ValidatePath, Bodies: validate}} {
		wg.Go(func() { results[i] = bench.RunRate(loadCtx, client, t, rate/2, duration) })
	}
	start := time.Now()
	var samples []uint64
	ticker := time.NewTicker(every)
	defer ticker.Stop()
sampling:
	for {
		select {
		case <-loadCtx.Done():
			break sampling
		case <-ticker.C:
			rss, err := bench.RSS(pid)
			if err != nil {
				return err
			}
			samples = append(samples, rss)
			fmt.Printf("%8s %10.1f\n", time.Since(start).Round(time.Second), mib(rss))
		}
	}
	wg.Wait()
	var total bench.Result
	for _, r := range results {
		total.Merge(r)
	}
	total.Elapsed = time.Since(start)
	fmt.Printf("requests %d, errors %d, %.0f req/s, p50 %s, p99 %s, max %s\n", total.Requests, total.Errors,
		total.Throughput(), total.Percentile(50), total.Percentile(99), total.Percentile(100))
	if total.FirstErr != nil {
		fmt.Printf("first error: %v\n", total.FirstErr)
	}
	if len(samples) >= 2 {
		lo, hi := samples[0], samples[0]
		for _, s := range samples {
			lo, hi = min(lo, s), max(hi, s)
		}
		// Flat means the second half grows no more than the first settled at.
		half := samples[len(samples)/2:]
		fmt.Printf("rss idle %.1f MiB; under load min %.1f, max %.1f, first %.1f, last %.1f MiB; second half %.1f..%.1f MiB\n",
			mib(idle), mib(lo), mib(hi), mib(samples[0]), mib(samples[len(samples)-1]), mib(slicesMin(half)), mib(slicesMax(half)))
	}
	if total.Errors > 0 {
		return fmt.Errorf("%d errors", total.Errors)
	}
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func slicesMin(s []uint64) uint64 {
	m := s[0]
	for _, v := range s {
		m = min(m, v)
	}
	return m
}

func slicesMax(s []uint64) uint64 {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

func cores() int {
	n, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*")
	return len(n)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}
