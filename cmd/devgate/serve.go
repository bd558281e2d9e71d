package main

import (
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"devgate.dev/devgate/internal/server"
)

// newServeCommand is `devgate serve` (SPEC 8).
func newServeCommand() *cobra.Command {
	opts := server.Options{}
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the admission webhooks and run the endpoint controller",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireConfig(opts.ConfigPath); err != nil {
				return err
			}
			opts.Logger = productionLogger()
			restConfig, err := loadRESTConfig(kubeconfig)
			if err != nil {
				return err
			}
			opts.RestConfig = restConfig
			if opts.Namespace == "" {
				opts.Namespace = server.PodNamespace()
			}
			s, err := server.New(opts)
			if err != nil {
				return err
			}
			return s.Start(ctrl.SetupSignalHandler())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "path of the devgate configuration file (reloaded on change)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "path of a kubeconfig; in-cluster configuration when empty")
	f.StringVar(&opts.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with tls.crt and tls.key (reloaded on change)")
	f.IntVar(&opts.WebhookPort, "webhook-port", 9443, "port of the webhook server")
	f.StringVar(&opts.WebhookHost, "webhook-host", "", "address the webhook server binds to; all when empty")
	f.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint, 0 to disable")
	f.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz, 0 to disable")
	f.BoolVar(&opts.LeaderElect, "leader-elect", false, "elect one active controller among replicas (webhooks serve on all)")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader lease; devgate's own when empty")
	f.StringVar(&opts.Namespace, "namespace", "", "devgate's own namespace, never managed; $POD_NAMESPACE when empty")
	return cmd
}

// loadRESTConfig reads --kubeconfig, or the usual in-cluster or $KUBECONFIG
// configuration when it is empty.
func loadRESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return config.GetConfig()
}
