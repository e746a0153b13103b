package executor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// newClient returns a client for tests. Every test server listens on
// loopback, which the dial guard refuses, so tests set the operator setting
// AllowPrivate; the guard's own tests (guard_test.go) build clients without it.
func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.AllowPrivate = true
	return New(cfg)
}

// server is a local HTTP server that counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// jsonHandler answers status with body as JSON.
func jsonHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hang waits until the client gives up (or a long while).
func hang(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does the server watch the connection
	// and cancel r.Context() when the client hangs up.
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func webhookTarget(url string) Target {
	return Target{Kind: Webhook, URL: url, Secret: "s3cret-webhook-key"}
}

func mustInvoke(t *testing.T, c *Client, tg Target, body string) string {
	t.Helper()
	out, err := c.Invoke(context.Background(), tg, []byte(body))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return string(out)
}
