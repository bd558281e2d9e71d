package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"devgate.dev/devgate/internal/auth"
	devgateconfig "devgate.dev/devgate/policies/config"
)

// newInviteCommand is `devgate invite` (SPEC 7.2): invitations with the
// caller's own credentials.
func newInviteCommand() *cobra.Command {
	var o auth.InviteOptions
	var kubeconfig, configPath string
	cmd := &cobra.Command{
		Use:   "invite USER [--namespace NS]... | --list | --revoke USER",
		Short: "Invite a user (prints the invitation link), list or revoke invitations",
		Long: `Invite a user to the private endpoints: creates the invitation (a Secret of
type devgate.dev/invitation in auth.usersNamespace, devgate's own namespace
"devgate" when the configuration sets none) with your own credentials and
prints its link, <auth.publicURL>/invite/<code>. Nothing is sent: hand the
link over yourself. For a pending invitation it prints the same link again.
Each --namespace gets a RoleBinding to devgate-member when the link is
accepted; a namespace that does not exist is refused.

Exit status: 0 on success, 1 when refused (the user exists, RBAC forbids),
2 for bad usage (invalid user or namespace name).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("at most one USER, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.User = args[0]
			}
			if err := auth.CheckInviteUsage(o); err != nil {
				return usageError{err}
			}
			cfg := devgateconfig.Default()
			if configPath != "" {
				var err error
				if cfg, err = devgateconfig.Load(configPath); err != nil {
					return usageError{err}
				}
			}
			o.Config = cfg
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.ExplicitPath = kubeconfig
			restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
			if err != nil {
				return err
			}
			cs, err := kubernetes.NewForConfig(restConfig)
			if err != nil {
				return err
			}
			if code := auth.RunInvite(cmd.Context(), cs, o, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Namespaces, "namespace", nil, "a namespace the user joins (repeatable)")
	f.BoolVar(&o.List, "list", false, "list pending invitations (user, namespaces, age, link)")
	f.StringVar(&o.Revoke, "revoke", "", "delete the pending invitation of this user")
	f.DurationVar(&o.TTL, "ttl", auth.DefaultInvitationTTL, "how long a new invitation is valid")
	f.StringVar(&o.PublicURL, "public-url", "", "base of the links instead of auth.publicURL (devgate dev: http://127.0.0.1:8082/auth)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "path of a kubeconfig; $KUBECONFIG or ~/.kube/config when empty")
	f.StringVar(&configPath, "config", "", "devgate configuration file (auth.publicURL, auth.usersNamespace); the built-in default when empty")
	return cmd
}
