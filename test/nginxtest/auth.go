package nginxtest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"devgate.dev/devgate/internal/auth"
)

// StartAuth builds `devgate auth` from opts (opts.Listener must be set),
// serves it until the test ends and waits until it is ready: /readyz
// answers 200 once its caches have synced and the admin user is ensured.
// The test fails if the service cannot start, exits early, is not ready
// within a minute, or ends with an error. stop stops it sooner (a test that
// restarts the service); calling it again does nothing. logs, when not nil,
// is added to the failure of a service that never gets ready.
func StartAuth(t testing.TB, opts auth.Options, logs fmt.Stringer) (stop func()) {
	t.Helper()
	srv, err := auth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("devgate auth: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	ready := "http://" + opts.Listener.Addr().String() + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("devgate auth exited before it was ready: %v", err)
		default:
		}
		res, err := http.Get(ready)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return stop
			}
			err = fmt.Errorf("/readyz answered %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			extra := ""
			if logs != nil {
				extra = "\n" + logs.String()
			}
			t.Fatalf("devgate auth is not ready after a minute: %v%s", err, extra)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
