package executor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// switchable answers 500 while failing is set, else 200.
func switchable(failing *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"down"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}
}

const openFor = 300 * time.Millisecond

func TestBreakerOpensAndCloses(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	c := newClient(t, Config{Breaker: BreakerConfig{Failures: 5, OpenFor: openFor}})
	tg := webhookTarget(srv.URL)
	call := func() error {
		_, err := c.Invoke(context.Background(), tg, []byte(`{}`))
		return err
	}

	for i := range 5 {
		if err := call(); errors.Is(err, ErrCircuitOpen) || err == nil {
			t.Fatalf("call %d: err = %v, want the server's 500", i+1, err)
		}
	}
	start := time.Now()
	if err := call(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("6th call: err = %v, want ErrCircuitOpen", err)
	}
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("open circuit took %s to refuse, want at once", elapsed)
	}
	if n := srv.hits.Load(); n != 5 {
		t.Errorf("server got %d requests, want 5 (none while open)", n)
	}

	// After the open duration one trial call goes through; it succeeds and
	// closes the circuit.
	failing.Store(false)
	time.Sleep(openFor + 50*time.Millisecond)
	for i := range 3 {
		if err := call(); err != nil {
			t.Fatalf("call %d after the open duration: %v", i+1, err)
		}
	}
	if n := srv.hits.Load(); n != 8 {
		t.Errorf("server got %d requests, want 8", n)
	}
}

func TestBreakerFailedTrialReopens(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	c := newClient(t, Config{Breaker: BreakerConfig{Failures: 2, OpenFor: openFor}})
	tg := webhookTarget(srv.URL)
	for range 2 {
		c.Invoke(context.Background(), tg, []byte(`{}`))
	}
	time.Sleep(openFor + 50*time.Millisecond)
	if _, err := c.Invoke(context.Background(), tg, []byte(`{}`)); errors.Is(err, ErrCircuitOpen) || err == nil {
		t.Fatalf("trial call: err = %v, want the server's 500", err)
	}
	if _, err := c.Invoke(context.Background(), tg, []byte(`{}`)); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after a failed trial: err = %v, want ErrCircuitOpen", err)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("server got %d requests, want 3", n)
	}
}

func TestBreakerCountsOnlyOutages(t *testing.T) {
	t.Parallel()
	// A target that answers promptly is up, whatever it answers: client
	// errors, function errors and bad documents do not open its circuit.
	cases := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "400", handler: jsonHandler(http.StatusBadRequest, `{"error":"unknown command"}`)},
		{name: "not JSON", handler: jsonHandler(http.StatusOK, `<html>`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.handler)
			c := newClient(t, Config{Breaker: BreakerConfig{Failures: 2}})
			for i := range 4 {
				if _, err := c.Invoke(context.Background(), webhookTarget(srv.URL), []byte(`{}`)); err == nil || errors.Is(err, ErrCircuitOpen) {
					t.Fatalf("call %d: err = %v, want the target's own error", i+1, err)
				}
			}
			if n := srv.hits.Load(); n != 4 {
				t.Errorf("server got %d requests, want 4", n)
			}
		})
	}
}

func TestBreakerIsPerTarget(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	down := newServer(t, switchable(&failing))
	up := newServer(t, jsonHandler(http.StatusOK, `{"ok":true}`))
	c := newClient(t, Config{Breaker: BreakerConfig{Failures: 1, OpenFor: time.Minute}})
	c.Invoke(context.Background(), webhookTarget(down.URL), []byte(`{}`))
	if _, err := c.Invoke(context.Background(), webhookTarget(down.URL), []byte(`{}`)); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("failing target: err = %v, want ErrCircuitOpen", err)
	}
	if got := mustInvoke(t, c, webhookTarget(up.URL), `{}`); got != `{"ok":true}` {
		t.Errorf("other target answered %s", got)
	}
	// Same host, other action: its own circuit.
	ow := Target{Kind: OpenWhisk, URL: down.URL, Secret: "u:k", Action: "a"}
	failing.Store(false)
	if got := mustInvoke(t, c, ow, `{}`); got != `{"ok":true}` {
		t.Errorf("other action on the same host answered %s", got)
	}
}
