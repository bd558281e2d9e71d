package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/server"
)

// Lease timings of the leader election test: short, so a takeover after a
// kill takes seconds rather than the default 15 seconds and more.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
	leaseName     = "devgate-controller"
	leaseNS       = "default"
)

// childEnv tells the test binary to run a devgate server instead of tests:
// the leader must be a process of its own so that it can be killed for real
// (a killed process cannot release its lease as a cancelled one does).
const childEnv = "DEVGATE_FAULTS_SERVE"

// globalLogs receives what controller-runtime logs through its global
// logger rather than the server's; the secrets test scans it too.
var globalLogs = &logBuffer{}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(serveChild())
	}
	ctrllog.SetLogger(globalLogs.logger())
	os.Exit(m.Run())
}

// serveChild runs `devgate serve --leader-elect` from the settings in the
// environment until killed.
func serveChild() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("DEVGATE_FAULTS_KUBECONFIG"))
	if err != nil {
		return fail(err)
	}
	port, err := strconv.Atoi(os.Getenv("DEVGATE_FAULTS_PORT"))
	if err != nil {
		return fail(err)
	}
	srv, err := server.New(server.Options{
		ConfigPath: os.Getenv("DEVGATE_FAULTS_CONFIG"), RestConfig: cfg,
		CertDir: os.Getenv("DEVGATE_FAULTS_CERTDIR"), WebhookHost: "127.0.0.1", WebhookPort: port,
		MetricsBindAddress: "0", HealthProbeBindAddress: "0", Namespace: "devgate",
		LeaderElect: true, LeaderElectionNamespace: leaseNS,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		Logger: funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{}),
	})
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return fail(err)
	}
	return 0
}

// TestLeaderKilledFollowerTakesOver runs two replicas with leader election:
// the leader in a child process, the follower in this one. The follower is
// ready and serves the webhooks while it waits; once the leader is killed,
// it takes the lease and reconciles a new Service within the lease duration
// (plus the time to start its controller).
func TestLeaderKilledFollowerTakesOver(t *testing.T) {
	c := startCluster(t, false)
	leader := c.startChild(t)
	holder := eventuallyLeaseHolder(t, c, "")

	opts := c.serverOptions(logr.Discard())
	opts.LeaderElect, opts.LeaderElectionNamespace = true, leaseNS
	opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = leaseDuration, renewDeadline, retryPeriod
	// The follower is ready (startServer waits for it) and admits requests.
	startServer(t, opts)
	c.waitForWebhook(t)

	ns := c.namespace(t, "leader")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().Services(ns).Create(ctx, autoIngressService(ns, "before", "true"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		_, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, "before", metav1.GetOptions{})
		return err
	})
	if now := leaseHolder(t, c); now != holder {
		t.Fatalf("lease moved from %q to %q while the leader was alive", holder, now)
	}

	if err := leader.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = leader.Wait()
	if _, err := c.cs.CoreV1().Services(ns).Create(ctx, autoIngressService(ns, "after", "true"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The lease expires leaseDuration after the last renewal; the follower
	// retries every retryPeriod, then starts its controller and caches.
	eventually(t, leaseDuration+2*retryPeriod+20*time.Second, func() error {
		_, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, "after", metav1.GetOptions{})
		return err
	})
	eventuallyLeaseHolder(t, c, holder)
}

// startChild starts a leader-electing devgate in a child process, serving
// webhooks on a port nothing calls; it is killed when the test ends.
func (c *cluster) startChild(t *testing.T) *exec.Cmd {
	t.Helper()
	logFile, err := os.Create(t.TempDir() + "/leader.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"DEVGATE_FAULTS_KUBECONFIG="+c.cp.KubeconfigPath, "DEVGATE_FAULTS_CONFIG="+c.configPath,
		"DEVGATE_FAULTS_CERTDIR="+c.cp.WebhookCertDir, "DEVGATE_FAULTS_PORT="+strconv.Itoa(freePort(t)))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Killed with the test binary, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("leader's log:\n%s", out)
			}
		}
	})
	return cmd
}

// leaseHolder returns the holder of devgate's leader lease, "" when none.
func leaseHolder(t *testing.T, c *cluster) string {
	t.Helper()
	lease, err := c.cs.CoordinationV1().Leases(leaseNS).Get(context.Background(), leaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// eventuallyLeaseHolder waits for a holder other than not and returns it.
func eventuallyLeaseHolder(t *testing.T, c *cluster, not string) string {
	t.Helper()
	var holder string
	eventually(t, time.Minute, func() error {
		holder = leaseHolder(t, c)
		if holder == "" || holder == not {
			return fmt.Errorf("lease holder %q", holder)
		}
		return nil
	})
	return holder
}
