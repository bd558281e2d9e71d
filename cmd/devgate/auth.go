package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"devgate.dev/devgate/internal/auth"
)

// cookieSecretEnv holds the cookie secret when --cookie-secret-file is not given.
const cookieSecretEnv = "DEVGATE_AUTH_COOKIE_SECRET"

// newAuthCommand is `devgate auth` (SPEC 7): the service behind authURL and
// signinURL. It serves plain HTTP behind the ingress controller, which
// terminates TLS.
func newAuthCommand() *cobra.Command {
	opts := auth.Options{}
	var kubeconfig, secretFile string
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Serve the auth service of private endpoints (ingress-nginx auth-url and auth-signin)",
		Long: `Serve the auth service of private endpoints: /auth/verify for ingress-nginx's
auth-url, /auth/signin for auth-signin, /healthz and /readyz; Prometheus
metrics at --metrics-bind-address (off unless given). It serves plain HTTP:
run it behind the ingress controller, which terminates TLS. X-Real-IP and
X-Forwarded-For are believed only from the config's auth.trustedProxies.

The cookie secret comes from --cookie-secret-file or $` + cookieSecretEnv + `,
at least 32 bytes (surrounding whitespace is ignored).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireConfig(opts.ConfigPath); err != nil {
				return err
			}
			secret, err := readCookieSecret(secretFile)
			if err != nil {
				return usageError{err}
			}
			opts.CookieSecret = secret
			opts.Logger = productionLogger()
			if opts.RestConfig, err = loadRESTConfig(kubeconfig); err != nil {
				return err
			}
			s, err := auth.New(opts)
			if err != nil {
				return err
			}
			return s.Start(ctrl.SetupSignalHandler())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "path of the devgate configuration file (reloaded on change)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "path of a kubeconfig; in-cluster configuration when empty")
	f.StringVar(&opts.BindAddress, "bind-address", auth.DefaultBindAddress, "address of the HTTP server (plain HTTP, behind the ingress controller)")
	f.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", auth.DefaultMetricsBindAddress, "address of the Prometheus metrics endpoint (/metrics), 0 to disable (the chart serves it on :9090)")
	f.StringVar(&secretFile, "cookie-secret-file", "", "file holding the secret that signs session cookies (at least 32 bytes); $"+cookieSecretEnv+" when empty")
	f.DurationVar(&opts.AccessCacheTTL, "access-cache-ttl", auth.DefaultAccessCacheTTL, "how long an access decision (SubjectAccessReview) is reused, 0 to disable")
	f.StringVar(&opts.Namespace, "namespace", auth.DefaultNamespace, "devgate's own namespace: users and invitations live there unless auth.usersNamespace names another")
	f.DurationVar(&opts.SessionMaxAge, "session-max-age", auth.DefaultSessionMaxAge, "longest life of a session cookie (the token's expiry may end it sooner)")
	return cmd
}

// readCookieSecret reads the secret from path, or from the environment when
// path is empty. Surrounding whitespace is dropped: files written with echo
// end in a newline nobody meant as part of the secret.
func readCookieSecret(path string) ([]byte, error) {
	var secret []byte
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--cookie-secret-file: %w", err)
		}
		secret = bytes.TrimSpace(data)
	} else {
		secret = bytes.TrimSpace([]byte(os.Getenv(cookieSecretEnv)))
		if len(secret) == 0 {
			return nil, fmt.Errorf("a cookie secret is required: --cookie-secret-file or $%s", cookieSecretEnv)
		}
	}
	if len(secret) < auth.MinSecretLength {
		return nil, fmt.Errorf("the cookie secret is %d bytes: at least %d are required (e.g. head -c 32 /dev/urandom | base64)", len(secret), auth.MinSecretLength)
	}
	return secret, nil
}
