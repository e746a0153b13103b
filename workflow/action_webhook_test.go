package workflow

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/executor"
)

// hookServer is a local HTTP server that counts its requests and answers
// with answer (given the request's number, from 1).
type hookServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newHookServer(t *testing.T, answer func(n int64, w http.ResponseWriter, r *http.Request)) *hookServer {
	t.Helper()
	s := &hookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(s.hits.Add(1), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// runHook runs an action_webhook node with the client; the test servers are
// on loopback, so tests of successful calls use the unguarded client an
// operator's allowance gives.
func runHook(t *testing.T, client *http.Client, raw string) (Result, *Exec, error) {
	t.Helper()
	k, cfg := mustConfig(t, "action_webhook", raw)
	x := &Exec{Run: RunInfo{CommunityID: 1, RunID: 5}, Node: &Node{ID: "h1", Type: "action_webhook"},
		Scope: map[string]any{}, Env: &Env{HTTP: client}}
	res, err := k.Run(context.Background(), x, cfg)
	return res, x, err
}

func TestWebhookPostsAndKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	var got struct {
		method, ctype, token, body string
	}
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.ctype, got.token, got.body = r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Token"), string(b)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Internal", "not kept")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true,"points":500}`)
	})
	res, _, err := runHook(t, executor.NewHTTPClient(false),
		`{"method":"POST","url":"`+s.URL+`/hook","headers":{"X-Token":"abc"},"body":"{\"user\":\"ann\"}","variable":"shop"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.ctype != "application/json" || got.token != "abc" || got.body != `{"user":"ann"}` {
		t.Errorf("the server received %+v", got)
	}
	out := outputOf(t, res)
	body, _ := out["body"].(map[string]any)
	hs, _ := out["headers"].(map[string]any)
	if out["status"] != http.StatusCreated || body["ok"] != true || body["points"] != float64(500) {
		t.Errorf("output %v", out)
	}
	if hs["content-type"] != "application/json; charset=utf-8" || hs["x-internal"] != nil {
		t.Errorf("headers %v", hs)
	}
	if v, ok := res.Vars["shop"].(map[string]any); !ok || v["status"] != http.StatusCreated {
		t.Errorf("vars %v", res.Vars)
	}
}

func TestWebhookTextAnswerAndNoVariable(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "plain text") })
	res, _, err := runHook(t, executor.NewHTTPClient(false), `{"method":"GET","url":"`+s.URL+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	if out := outputOf(t, res); out["body"] != "plain text" || out["status"] != 200 {
		t.Errorf("output %v", out)
	}
	if res.Vars != nil {
		t.Errorf("vars %v without a variable", res.Vars)
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		statuses []int // by request; the last repeats
		retries  int
		wantHits int64
		wantErr  string
	}{
		{"5xx then success", []int{503, 502, 200}, 2, 3, ""},
		{"429 is retried", []int{429, 200}, 3, 2, ""},
		{"gives up after retries", []int{500}, 1, 2, "HTTP 500"},
		{"no retries", []int{503}, 0, 1, "HTTP 503"},
		{"4xx is not retried", []int{404}, 3, 1, "HTTP 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newHookServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.statuses[min(int(n), len(tc.statuses))-1])
			})
			start := time.Now()
			_, x, err := runHook(t, executor.NewHTTPClient(false),
				`{"method":"POST","url":"`+s.URL+`","retries":`+strconv.Itoa(tc.retries)+`,"backoff_ms":20}`)
			if hits := s.hits.Load(); hits != tc.wantHits {
				t.Errorf("%d requests, want %d", hits, tc.wantHits)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			// The backoff doubles: 20 ms, then 40 ms.
			if tc.wantHits == 3 && time.Since(start) < 60*time.Millisecond {
				t.Errorf("two retries took %s, want at least 60ms of backoff", time.Since(start))
			}
			if retried := len(x.Notes); retried != int(tc.wantHits-1) {
				t.Errorf("notes %v, want one per retry", x.Notes)
			}
		})
	}
}

func TestWebhookTimeout(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	_, _, err := runHook(t, executor.NewHTTPClient(false), `{"method":"GET","url":"`+s.URL+`","timeout_ms":100}`)
	if err == nil || !strings.Contains(err.Error(), "timeout_ms 100") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 100ms timeout took %s", d)
	}
}

// TestWebhookWaitsForRetryWithinTheContext: a run cancelled while waiting to
// retry stops at once.
func TestWebhookWaitsForRetryWithinTheContext(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	k, cfg := mustConfig(t, "action_webhook", `{"method":"GET","url":"`+s.URL+`","retries":5,"backoff_ms":60000}`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	x := &Exec{Node: &Node{ID: "h1"}, Scope: map[string]any{}, Env: &Env{HTTP: executor.NewHTTPClient(false)}}
	start := time.Now()
	_, err := k.Run(ctx, x, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second || s.hits.Load() != 1 {
		t.Errorf("err = %v after %s and %d requests", err, time.Since(start), s.hits.Load())
	}
}

func TestWebhookResponseIsCappedAt1MiB(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"`+strings.Repeat("a", 2<<20)+`"`)
	})
	res, x, err := runHook(t, executor.NewHTTPClient(false), `{"method":"GET","url":"`+s.URL+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := outputOf(t, res)["body"].(string)
	if !ok || len(body) != MaxWebhookResponse || !hasNote(x, "cut to 1 MiB") {
		t.Errorf("body of %d bytes (a string: %v), notes %v", len(body), ok, x.Notes)
	}
}

// TestWebhookGuardRefusesLoopback: with the guard on (the default), a URL
// on loopback is refused at dial time and never reached, and not retried.
func TestWebhookGuardRefusesLoopback(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {})
	for _, u := range []string{s.URL, strings.Replace(s.URL, "127.0.0.1", "localhost", 1)} {
		_, _, err := runHook(t, executor.NewHTTPClient(true), `{"method":"POST","url":"`+u+`","retries":3,"backoff_ms":0}`)
		if !errors.Is(err, executor.ErrBlockedAddress) || !strings.HasPrefix(err.Error(), "url:") {
			t.Errorf("%s: err = %v, want refused by the guard", u, err)
		}
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("the guarded client reached loopback %d times", n)
	}
}

func TestWebhookRenderedURLMustBeHTTP(t *testing.T) {
	t.Parallel()
	_, _, err := runHook(t, executor.NewHTTPClient(false), `{"method":"GET","url":"{{ vars.target }}"}`)
	if err == nil || !strings.HasPrefix(err.Error(), "url:") {
		t.Errorf("err = %v, want an error on url", err)
	}
}

func TestWebhookDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {})
	k, cfg := mustConfig(t, "action_webhook", `{"url":"`+s.URL+`/secret-path?key=1"}`)
	x := &Exec{Run: RunInfo{DryRun: true}, Node: &Node{ID: "h1"}, Scope: map[string]any{}, Env: &Env{HTTP: executor.NewHTTPClient(false)}}
	res, err := k.Run(context.Background(), x, cfg)
	if err != nil {
		t.Fatal(err)
	}
	change, _ := outputOf(t, res)["change"].(string)
	if s.hits.Load() != 0 || !strings.HasPrefix(change, "would send POST") || strings.Contains(change, "secret-path") {
		t.Errorf("dry run: %d requests, change %q", s.hits.Load(), change)
	}
}

func TestWebhookBadConfig(t *testing.T) {
	t.Parallel()
	many := make([]string, 0, 21)
	for i := range 21 {
		many = append(many, `"X-H`+strconv.Itoa(i)+`":"v"`)
	}
	testBadConfigs(t, "action_webhook", []badConfig{
		{"unknown method", `{"method":"FETCH","url":"https://example.com"}`, "method"},
		{"no url", `{"method":"GET"}`, "url"},
		{"ftp url", `{"url":"ftp://example.com/x"}`, "url"},
		{"file url", `{"url":"file:///etc/passwd"}`, "url"},
		{"relative url", `{"url":"/hook"}`, "url"},
		{"host header", `{"url":"https://example.com","headers":{"host":"evil"}}`, "headers.host"},
		{"content-length header", `{"url":"https://example.com","headers":{"Content-Length":"1"}}`, "headers.Content-Length"},
		{"header with a line break", `{"url":"https://example.com","headers":{"X-A":"a\r\nX-B: b"}}`, "headers.X-A"},
		{"bad header name", `{"url":"https://example.com","headers":{"a b":"1"}}`, "headers"},
		{"too many headers", `{"url":"https://example.com","headers":{` + strings.Join(many, ",") + `}}`, "headers"},
		{"body too big", `{"url":"https://example.com","body":"` + strings.Repeat("a", MaxWebhookBody+1) + `"}`, "body"},
		{"timeout too short", `{"url":"https://example.com","timeout_ms":50}`, "timeout_ms"},
		{"timeout too long", `{"url":"https://example.com","timeout_ms":30001}`, "timeout_ms"},
		{"too many retries", `{"url":"https://example.com","retries":6}`, "retries"},
		{"negative retries", `{"url":"https://example.com","retries":-1}`, "retries"},
		{"negative backoff", `{"url":"https://example.com","backoff_ms":-1}`, "backoff_ms"},
		{"bad variable", `{"url":"https://example.com","variable":"a.b"}`, "variable"},
	})
	if issues := checkIssues(t, "action_webhook", `{"url":"https://example.com/x","headers":{"Authorization":"Bearer t"},"body":"{}","variable":"answer"}`); len(issues) != 0 {
		t.Errorf("a good configuration: %v", issues)
	}
}

// TestWebhookRefusesAHeaderThatRendersALineBreak: a value from the run
// cannot smuggle a second header; nothing is sent. (Check refuses a literal
// one; this one is run without Check, as one rendered from the run would be.)
func TestWebhookRefusesAHeaderThatRendersALineBreak(t *testing.T) {
	t.Parallel()
	s := newHookServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {})
	k, _ := KindOf("action_webhook")
	cfg, err := DecodeConfig(k, []byte(`{"url":"`+s.URL+`","headers":{"X-A":"a\r\nX-B: b"},"retries":2,"backoff_ms":0}`))
	if err != nil {
		t.Fatal(err)
	}
	x := &Exec{Node: &Node{ID: "h1"}, Scope: map[string]any{}, Env: &Env{HTTP: executor.NewHTTPClient(false)}}
	_, err = k.Run(context.Background(), x, cfg)
	if err == nil || !strings.HasPrefix(err.Error(), "headers.X-A:") || s.hits.Load() != 0 {
		t.Errorf("err = %v after %d requests", err, s.hits.Load())
	}
}
