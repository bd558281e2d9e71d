package kubetest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/devenv"
)

// Suite is a test package's cluster: the local control plane with Gateway
// API's CRDs and devgate registered, configured by a file the tests may
// rewrite (it is re-read every 200 ms).
type Suite struct {
	Env        *devenv.Env
	ConfigPath string
	dir        string
	logFile    io.Closer
}

// StartSuite starts the suite's cluster with config as devgate's
// configuration; opts adds to the devenv options (the auth service, say).
// The control plane's log goes to a file in a temporary directory, which
// Stop removes.
func StartSuite(name, config string, opts devenv.Options) (*Suite, error) {
	// envtest logs through controller-runtime's global logger; the tests read
	// outcomes through kubectl and the API, not logs.
	ctrllog.SetLogger(logr.Discard())
	if _, err := controlplane.FindAssets(); err != nil {
		return nil, fmt.Errorf("%s tests need the control-plane binaries: %w", name, err)
	}
	dir, err := os.MkdirTemp("", "devgate-"+name+"-")
	if err != nil {
		return nil, err
	}
	s := &Suite{dir: dir, ConfigPath: filepath.Join(dir, "config.yaml")}
	if err := os.WriteFile(s.ConfigPath, []byte(config), 0o600); err != nil {
		s.Stop()
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.logFile = logFile
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Gateway API's CRDs, as a cluster that serves HTTPRoutes has them.
	if opts.CRDs, err = devenv.GatewayAPICRDs(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	opts.ConfigPath, opts.Dir, opts.Logger, opts.ControlPlaneLog = s.ConfigPath, dir, logr.Discard(), logFile
	opts.ConfigPollInterval = 200 * time.Millisecond
	if s.Env, err = devenv.Start(ctx, opts); err != nil {
		s.Stop()
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	return s, nil
}

// Stop stops everything StartSuite started and removes its directory.
func (s *Suite) Stop() {
	if s.Env != nil {
		if err := s.Env.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	os.RemoveAll(s.dir)
}
