package executor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted answers the statuses in turn (with Retry-After when given), then 200.
func scripted(statuses []int, retryAfter string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(statuses[i])
			io.WriteString(w, `{"error":"scripted"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		statuses   []int
		retryAfter string
		retries    int
		wantStatus int // 0: success
		wantHits   int64
		minElapsed time.Duration
	}{
		{name: "503 twice then success", statuses: []int{503, 503}, wantHits: 3},
		{name: "504 then success", statuses: []int{504}, wantHits: 2},
		{name: "429 with short Retry-After", statuses: []int{429}, retryAfter: "1", wantHits: 2, minElapsed: time.Second},
		{name: "429 with long Retry-After", statuses: []int{429}, retryAfter: "5", wantStatus: 429, wantHits: 1},
		{name: "attempts exhausted", statuses: []int{502, 502, 502}, wantStatus: 502, wantHits: 3},
		{name: "more retries configured", statuses: []int{502, 502, 502}, retries: 3, wantHits: 4},
		{name: "retries off", statuses: []int{503}, retries: -1, wantStatus: 503, wantHits: 1},
		{name: "400 not retried", statuses: []int{400}, wantStatus: 400, wantHits: 1},
		{name: "500 not retried", statuses: []int{500}, wantStatus: 500, wantHits: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, scripted(tc.statuses, tc.retryAfter))
			c := newClient(t, Config{Retries: tc.retries})
			start := time.Now()
			out, err := c.Invoke(context.Background(), webhookTarget(srv.URL), []byte(`{}`))
			if elapsed := time.Since(start); elapsed < tc.minElapsed {
				t.Errorf("took %s, want at least %s", elapsed, tc.minElapsed)
			}
			if tc.wantStatus == 0 && (err != nil || string(out) != `{"ok":true}`) {
				t.Errorf("Invoke = %s, %v; want success", out, err)
			}
			if tc.wantStatus != 0 {
				if se, ok := errors.AsType[*StatusError](err); !ok || se.Code != tc.wantStatus {
					t.Errorf("err = %v, want StatusError %d", err, tc.wantStatus)
				}
			}
			if n := srv.hits.Load(); n != tc.wantHits {
				t.Errorf("server got %d requests, want %d", n, tc.wantHits)
			}
		})
	}
}

// onRetry is a slog handler that calls fn when a retry is logged.
type onRetry struct {
	slog.Handler
	fn func()
}

func (h onRetry) Enabled(context.Context, slog.Level) bool { return true }
func (h onRetry) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "retrying remote call" {
		h.fn()
	}
	return nil
}
func (h onRetry) WithAttrs([]slog.Attr) slog.Handler { return h }

func TestRetryAfterConnectionRefused(t *testing.T) {
	t.Parallel()
	// A port with nothing listening: the first attempt is refused. When the
	// retry is logged, a server starts on that port, and the retry reaches it.
	cases := []struct {
		name   string
		target func(url string) Target
	}{
		{name: "webhook", target: webhookTarget},
		{name: "openwhisk", target: func(url string) Target {
			return Target{Kind: OpenWhisk, URL: url, Secret: "u:k", Action: "a"}
		}},
		{name: "lambda", target: func(url string) Target { return lambdaTarget(url, "f") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()

			var hits atomic.Int64
			var once sync.Once
			var startErr error
			start := func() {
				once.Do(func() {
					ln, err := net.Listen("tcp", addr)
					if err != nil {
						startErr = err
						return
					}
					srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						hits.Add(1)
						io.WriteString(w, `{"ok":true}`)
					})}
					go srv.Serve(ln)
					t.Cleanup(func() { srv.Close() })
				})
			}
			c := newClient(t, Config{Logger: slog.New(onRetry{fn: start})})
			out, err := c.Invoke(context.Background(), tc.target("http://"+addr), []byte(`{}`))
			if startErr != nil {
				t.Fatalf("restart server on %s: %v", addr, startErr)
			}
			if err != nil || string(out) != `{"ok":true}` {
				t.Fatalf("Invoke = %s, %v; want success on the retry", out, err)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		target func(url string) Target
	}{
		{name: "webhook", target: webhookTarget},
		{name: "openwhisk", target: func(url string) Target {
			return Target{Kind: OpenWhisk, URL: url, Secret: "u:k", Action: "slow"}
		}},
		{name: "lambda", target: func(url string) Target { return lambdaTarget(url, "slow") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, hang)
			c := newClient(t, Config{})
			tg := tc.target(srv.URL)
			tg.Timeout = 200 * time.Millisecond
			start := time.Now()
			_, err := c.Invoke(context.Background(), tg, []byte(`{}`))
			elapsed := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Errorf("err = %v, want ErrTimeout", err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("gave up after %s, want about 200ms", elapsed)
			}
			if n := srv.hits.Load(); n != 1 {
				t.Errorf("server got %d requests, want 1 (no retry after sending)", n)
			}
		})
	}
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hang)
	c := newClient(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Invoke(ctx, webhookTarget(srv.URL), []byte(`{}`))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("err = %v, want context.Canceled and not ErrTimeout", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"2", 2 * time.Second},
		{now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", -1},
		{"-4", -1},
		{strconv.Itoa(1 << 20), (1 << 20) * time.Second},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}
