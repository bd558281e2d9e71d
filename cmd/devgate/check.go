package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"devgate.dev/devgate/internal/check"
	"devgate.dev/devgate/policies/config"
)

// newCheckCommand is `devgate check`: offline policy dry runs (SPEC 6).
func newCheckCommand() *cobra.Command {
	var (
		opts       check.Options
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "check -f PATH [-f PATH]... [--config FILE] [--namespace NS] [--as USER] [--as-group GROUP]... [--old PATH]... [-o text|yaml|json]",
		Short: "Run devgate's policies on manifests offline",
		Long: `Run every object of the manifests through devgate's policies, exactly as the
webhook does (mutation, then validation), and show the objects the controller
would generate. PATH is a file, a directory (read recursively for *.yaml,
*.yml and *.json) or - for standard input.

Exit status: 0 when every object is allowed, 1 when any is denied, 2 for bad
usage or input.`,
		Example: `  devgate check -f manifests/
  devgate check -f service.yaml --old live/service.yaml --as alice
  helm template ./chart | devgate check -f - -n team-a -o yaml | kubectl apply --server-side -f -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q: give manifests with -f", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
				return usageError{fmt.Errorf("--namespace %q: %s", opts.Namespace, strings.Join(errs, "; "))}
			}
			if opts.User.Username == "" {
				return usageError{errors.New("--as must name a user")}
			}
			if configPath != "" {
				cfg, err := config.Load(configPath)
				if err != nil {
					return usageError{fmt.Errorf("--config: %w", err)}
				}
				opts.Config = cfg
			}
			opts.Stdin, opts.Stdout, opts.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Color = check.UseColor(opts.Stdout)
			report, err := check.Run(opts)
			var input *check.InputError
			switch {
			case errors.As(err, &input) || errors.Is(err, check.ErrUsage):
				return usageError{err}
			case err != nil:
				return err
			}
			if code := report.ExitCode(); code != check.ExitAllowed {
				return exitError{code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Filenames, "filename", "f", nil, "manifests to check: a file, a directory or - for stdin (repeatable)")
	f.StringVar(&configPath, "config", "", "devgate configuration file (default: built-in, domain "+config.DefaultDomain+")")
	f.StringVarP(&opts.Namespace, "namespace", "n", "default", "namespace of objects that name none")
	f.StringVar(&opts.User.Username, "as", "devgate-cli", "username of the requester")
	f.StringArrayVar(&opts.User.Groups, "as-group", nil, "group of the requester (repeatable)")
	f.StringArrayVar(&opts.Old, "old", nil, "previous versions: a matching object is checked as an UPDATE (repeatable)")
	f.StringVarP(&opts.Output, "output", "o", check.OutputText, "output format: text, yaml or json")
	return cmd
}
