// Command devgate is the admission webhook and controller for multi-tenant
// developer clusters, with its offline policy checker, its auth service and a
// local development control plane, as one binary.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	devgateconfig "devgate.dev/devgate/policies/config"
)

// usageError marks a bad invocation or bad input: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries an exit status chosen by a subcommand (such as check's 1).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "devgate",
		Short:         "Admission webhook and controller for multi-tenant developer clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCommand(), newDevCommand(), newCheckCommand(), newAuthCommand(), newInviteCommand())
	return root
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status: 0, 1 or the
// subcommand's own, 2 for bad usage or input.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var exit exitError
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "devgate:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "devgate:", err)
		return 1
	}
}

// noArgs rejects positional arguments as bad usage (exit status 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

// requireConfig checks --config at start: a missing or invalid configuration
// is bad input (exit status 2), not a runtime failure; reloads later keep the
// last good one instead.
func requireConfig(path string) error {
	if path == "" {
		return usageError{fmt.Errorf("--config is required")}
	}
	if _, err := devgateconfig.Load(path); err != nil {
		return usageError{err}
	}
	return nil
}

// productionLogger is the JSON logger of the long-running servers, set as
// controller-runtime's too.
func productionLogger() logr.Logger {
	logger := zap.New(zap.UseDevMode(false))
	ctrl.SetLogger(logger)
	return logger
}
