// Package configsource keeps the configuration in force while devgate runs. It
// re-reads the file when its content changes (a ConfigMap update replaces the
// mounted file behind a symlink, so the content is what is watched, not the
// inode) and keeps the last good configuration when the new one is invalid.
package configsource

import (
	"bytes"
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"devgate.dev/devgate/policies/config"
)

var (
	reloadsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "devgate_config_reloads_total",
		Help: "Configuration reloads, by result (success or error).",
	}, []string{"result"})
	lastReloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "devgate_config_last_reload_successful",
		Help: "1 when the configuration file in place is the one in force, 0 when it is invalid and the last good one is kept.",
	})
)

func init() { metrics.Registry.MustRegister(reloadsTotal, lastReloadOK) }

// Source holds the current configuration.
type Source struct {
	path     string
	extra    []string // namespaces excluded on top of the file's own
	current  atomic.Pointer[config.Config]
	lastData []byte // the content last read, good or bad: unchanged content is not parsed again
	log      logr.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
}

// Static is a Source that never changes, for tests and the CLI.
func Static(c *config.Config) *Source {
	s := &Source{changed: make(chan struct{})}
	s.current.Store(c)
	return s
}

// Load reads path once; extraExcluded are namespaces that are never managed
// whatever the file says (devgate's own).
func Load(path string, extraExcluded []string, log logr.Logger) (*Source, error) {
	s := &Source{path: path, extra: extraExcluded, log: log, changed: make(chan struct{})}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := s.parse(data)
	if err != nil {
		return nil, err
	}
	s.current.Store(c)
	s.lastData = data
	lastReloadOK.Set(1)
	return s, nil
}

func (s *Source) parse(data []byte) (*config.Config, error) {
	c, err := config.Parse(data)
	if err != nil {
		return nil, err
	}
	for _, ns := range s.extra {
		if c.Managed(ns) {
			c.ExcludedNamespaces = append(c.ExcludedNamespaces, ns)
		}
	}
	return c, nil
}

// Changed returns a channel that is closed at the next change of the
// configuration in force. Every waiter sees it: it is a broadcast.
func (s *Source) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Current implements webhook.ConfigSource.
func (s *Source) Current() *config.Config { return s.current.Load() }

// Reload re-reads the file now. An unreadable or invalid file keeps the
// configuration in force and is reported.
func (s *Source) Reload() (changed bool, err error) {
	data, err := os.ReadFile(s.path)
	if err == nil && bytes.Equal(data, s.lastData) {
		return false, nil
	}
	var c *config.Config
	if err == nil {
		s.lastData = data
		c, err = s.parse(data)
	}
	if err != nil {
		reloadsTotal.WithLabelValues("error").Inc()
		lastReloadOK.Set(0)
		return false, err
	}
	s.current.Store(c)
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	reloadsTotal.WithLabelValues("success").Inc()
	lastReloadOK.Set(1)
	return true, nil
}

// Watch re-reads the file every interval until ctx ends: a change is logged
// and takes effect, an invalid file is logged and the last good configuration
// stays in force. Both devgate serve and devgate auth run it.
func (s *Source) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.Reload()
		switch {
		case err != nil:
			s.log.Error(err, "invalid configuration: keeping the last good one", "path", s.path)
		case changed:
			s.log.Info("configuration reloaded", "path", s.path, "domain", s.Current().Domain)
		}
	}
}
