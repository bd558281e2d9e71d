package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"devgate.dev/devgate/internal/auth"
	"devgate.dev/devgate/internal/devenv"
	devgateconfig "devgate.dev/devgate/policies/config"
)

// newDevCommand is `devgate dev` (SPEC 8.1): a local control plane with devgate
// registered, for trying devgate with kubectl and for the e2e suite.
func newDevCommand() *cobra.Command {
	var configPath, dir, assets, metricsAddr, authAddr string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local control plane with devgate registered on loopback",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath := configPath
			if cfgPath == "" {
				// Without --config the CLI's built-in default is written next to
				// the kubeconfig, so the server can reload it like any file.
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				cfgPath = filepath.Join(dir, "config.yaml")
				if err := os.WriteFile(cfgPath, []byte(devenv.DefaultConfigYAML), 0o600); err != nil {
					return err
				}
			}
			if _, err := devgateconfig.Load(cfgPath); err != nil {
				return usageError{err}
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return err
			}
			logFile, err := os.OpenFile(filepath.Join(abs, "controlplane.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer logFile.Close()
			// The server's log goes to the terminal too: seeing each admission
			// is the point of a development cluster.
			logger := zap.New(zap.UseDevMode(true), zap.WriteTo(cmd.ErrOrStderr()))
			ctrl.SetLogger(logger)
			ctx := stopOnSignal(cmd.ErrOrStderr())
			out := cmd.OutOrStdout()
			// Gateway API's CRDs come from the module cache of a checkout of
			// devgate, as `make run` has it; a lone binary runs without them.
			crds, err := devenv.GatewayAPICRDs(ctx)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "without Gateway API's CRDs (HTTPRoutes): %v\n", err)
			}
			env, err := devenv.Start(ctx, devenv.Options{
				ConfigPath: cfgPath, Dir: abs, AssetsDir: assets, Logger: logger, ControlPlaneLog: logFile,
				MetricsBindAddress: metricsAddr, AuthBindAddress: authAddr, CRDs: crds,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", env.KubeconfigPath())
			fmt.Fprintf(out, "metrics: http://%s/metrics\n", metricsAddr)
			if u := env.AuthURL(); u != "" {
				fmt.Fprintf(out, "auth: %s/\n", u)
				fmt.Fprintf(out, "dashboard: %s/ (sign in with a token; scripts: Accept: application/json)\n", u)
				fmt.Fprintf(out, "admin token: %s\n", auth.TokenCommand(devenv.Namespace, auth.AdminUser))
				fmt.Fprintf(out, "invite: devgate invite USER --namespace NS --public-url %s\n", u)
			}
			fmt.Fprintln(out, "ready")
			<-ctx.Done()
			fmt.Fprintln(out, "stopping")
			stopCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			return env.Stop(stopCtx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "devgate configuration file; the built-in default (domain okteto.example.com) when empty")
	f.StringVar(&dir, "dir", ".devgate", "directory for the kubeconfig and logs")
	f.StringVar(&metricsAddr, "metrics-bind-address", "127.0.0.1:8080", "address of devgate's Prometheus metrics (loopback)")
	f.StringVar(&authAddr, "auth-bind-address", "127.0.0.1:8082", "address of the auth service (devgate auth: sign-in, invitations, /auth/verify); empty to not run it")
	f.StringVar(&assets, "assets", "", "directory with etcd, kube-apiserver, kube-controller-manager and kubectl; found under bin/ when empty")
	return cmd
}

// stopOnSignal returns a context cancelled by the first SIGINT or SIGTERM.
// Later signals do not cut the shutdown short, unlike controller-runtime's
// handler: etcd and kube-apiserver run in their own process groups, so exiting
// before stopping them would leave them behind.
func stopOnSignal(w io.Writer) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		for range signals {
			fmt.Fprintln(w, "devgate: still stopping the control plane, please wait")
		}
	}()
	return ctx
}
