package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/waddle/waddle/executor"
)

// Limits of action_webhook.
const (
	MaxWebhookHeaders  = 20
	MaxWebhookBody     = 64 << 10 // bytes of the body template
	MaxWebhookResponse = 1 << 20  // bytes of the response body kept
	maxWebhookBackoff  = 60_000   // ms
)

// Webhook is action_webhook's configuration.
type Webhook struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"` // a template; http or https
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"` // a template
	TimeoutMS int               `json:"timeout_ms"`     // each attempt's
	Retries   int               `json:"retries"`        // on a network error, 429 or 5xx
	BackoffMS int               `json:"backoff_ms"`     // before the first retry; doubled each time
	Variable  string            `json:"variable,omitempty"`
}

var webhookMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Check names the field at fault.
func (cfg *Webhook) Check(c *Checker) {
	known := false
	for _, m := range webhookMethods {
		known = known || m == cfg.Method
	}
	if !known {
		c.Errorf("method", "Choose the method: %s.", strings.Join(webhookMethods, ", "))
	}
	switch {
	case strings.TrimSpace(cfg.URL) == "":
		c.Errorf("url", "Give the URL to call.")
	case !strings.Contains(cfg.URL, "{{"):
		if err := checkWebhookURL(cfg.URL); err != nil {
			c.Errorf("url", "%s", err.Error())
		}
	default:
		c.Template("url", cfg.URL, 2000)
	}
	if len(cfg.Headers) > MaxWebhookHeaders {
		c.Errorf("headers", "At most %d headers.", MaxWebhookHeaders)
	} else {
		names := make([]string, 0, len(cfg.Headers))
		for k := range cfg.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch canon := http.CanonicalHeaderKey(k); {
			case !validHeaderName(k):
				c.Errorf("headers", "%q is not a header name.", k)
			case canon == "Host" || canon == "Content-Length" || canon == "Transfer-Encoding" || canon == "Connection":
				c.Errorf("headers."+k, "The %s header is set by the request itself.", canon)
			case strings.ContainsAny(cfg.Headers[k], "\r\n\x00"):
				c.Errorf("headers."+k, "A header value is one line.")
			default:
				c.Template("headers."+k, cfg.Headers[k], 2000)
			}
		}
	}
	c.Template("body", cfg.Body, MaxWebhookBody)
	if cfg.Body != "" && (cfg.Method == http.MethodGet || cfg.Method == http.MethodDelete) {
		c.Warnf("body", "Many servers ignore the body of a %s request.", cfg.Method)
	}
	if cfg.TimeoutMS < 100 || cfg.TimeoutMS > 30_000 {
		c.Errorf("timeout_ms", "The timeout is 100 to 30000 ms.")
	}
	if cfg.Retries < 0 || cfg.Retries > 5 {
		c.Errorf("retries", "Retry 0 to 5 times.")
	}
	if cfg.BackoffMS < 0 || cfg.BackoffMS > maxWebhookBackoff {
		c.Errorf("backoff_ms", "The backoff is 0 to %d ms.", maxWebhookBackoff)
	}
	if cfg.Variable != "" && (!validPath(cfg.Variable) || strings.Contains(cfg.Variable, ".") || len(cfg.Variable) > 64) {
		c.Errorf("variable", "A variable name has 1 to 64 letters, digits, - or _.")
	}
}

// checkWebhookURL refuses a URL that is not absolute http(s).
func checkWebhookURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the URL must be an absolute http or https URL")
	}
	if len(raw) > 2000 {
		return errors.New("the URL has at most 2000 characters")
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if c > 126 || c <= 32 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}

func init() {
	register(&Kind{
		Type:     "action_webhook",
		Category: CategoryAction,
		Title:    "HTTP request",
		Summary:  "Calls a URL (method, headers, body) with retries, and keeps the answer for later nodes.",
		New: func() Config {
			return &Webhook{Method: http.MethodPost, TimeoutMS: 5000, BackoffMS: 500}
		},
		Effect: true,
		Run:    runWebhook,
	})
}

// keptHeaders are the response headers a webhook node's output shows.
var keptHeaders = []string{"Content-Type", "Content-Length", "Location", "Retry-After", "Etag", "Last-Modified"}

func runWebhook(ctx context.Context, x *Exec, c Config) (Result, error) {
	cfg := c.(*Webhook)
	target := strings.TrimSpace(x.Render(cfg.URL))
	if err := checkWebhookURL(target); err != nil {
		return Result{}, fmt.Errorf("url: %w", err)
	}
	headers := http.Header{}
	for k, v := range cfg.Headers {
		v = x.Render(v)
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 8<<10 {
			return Result{}, fmt.Errorf("headers.%s: the value rendered with a line break or over 8 KiB", k)
		}
		headers.Set(k, v)
	}
	body := x.Render(cfg.Body)
	if len(body) > MaxWebhookResponse {
		return Result{}, fmt.Errorf("body: the body rendered to over 1 MiB")
	}
	if x.Run.DryRun {
		return Result{Output: map[string]any{"sent": false, "change": fmt.Sprintf("would send %s %s with %d bytes", cfg.Method, hostOf(target), len(body))}}, nil
	}
	if x.Env.HTTP == nil {
		return Result{}, errors.New("url: outbound HTTP is not available on this server")
	}
	backoff := time.Duration(cfg.BackoffMS) * time.Millisecond
	var out map[string]any
	var err error
	for attempt := 0; ; attempt++ {
		var retry bool
		out, retry, err = callWebhook(ctx, x, cfg, target, headers, body)
		if !retry || attempt >= cfg.Retries {
			break
		}
		x.Notes = append(x.Notes, fmt.Sprintf("attempt %d failed (%v); retrying in %s", attempt+1, err, backoff))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, fmt.Errorf("webhook: %w (while waiting to retry after: %v)", ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, maxWebhookBackoff*time.Millisecond)
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Output: out}
	if cfg.Variable != "" {
		res.Vars = map[string]any{cfg.Variable: out}
	}
	return res, nil
}

// callWebhook makes one attempt; retry says whether another may succeed.
func callWebhook(ctx context.Context, x *Exec, cfg *Webhook, target string, headers http.Header, body string) (map[string]any, bool, error) {
	actx, cancel := context.WithTimeout(ctx, time.Duration(cfg.TimeoutMS)*time.Millisecond)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, cfg.Method, target, rd)
	if err != nil {
		return nil, false, fmt.Errorf("url: %w", err)
	}
	req.Header = headers.Clone()
	if body != "" && req.Header.Get("Content-Type") == "" {
		ct := "text/plain; charset=utf-8"
		if json.Valid([]byte(body)) {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Waddle-Workflow/1")
	}
	resp, err := x.Env.HTTP.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, executor.ErrBlockedAddress):
			return nil, false, fmt.Errorf("url: %s refused: %w", hostOf(target), err)
		case ctx.Err() != nil:
			return nil, false, fmt.Errorf("webhook: %w", ctx.Err())
		case actx.Err() != nil:
			return nil, true, fmt.Errorf("webhook: no answer from %s within timeout_ms %d", hostOf(target), cfg.TimeoutMS)
		}
		return nil, true, fmt.Errorf("webhook: %s: %w", hostOf(target), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxWebhookResponse+1))
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			return nil, true, fmt.Errorf("webhook: the answer of %s did not arrive within timeout_ms %d", hostOf(target), cfg.TimeoutMS)
		}
		return nil, true, fmt.Errorf("webhook: read the answer of %s: %w", hostOf(target), err)
	}
	truncated := len(raw) > MaxWebhookResponse
	if truncated {
		raw = raw[:MaxWebhookResponse]
		x.Notes = append(x.Notes, "the response body was cut to 1 MiB")
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return nil, true, fmt.Errorf("webhook: %s answered HTTP %d", hostOf(target), resp.StatusCode)
	}
	if resp.StatusCode >= 400 {
		return nil, false, fmt.Errorf("webhook: %s answered HTTP %d", hostOf(target), resp.StatusCode)
	}
	hs := map[string]any{}
	for _, k := range keptHeaders {
		if v := resp.Header.Get(k); v != "" {
			hs[strings.ToLower(k)] = v
		}
	}
	var decoded any = strings.ToValidUTF8(string(raw), "\uFFFD")
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); !truncated && (mt == "application/json" || strings.HasSuffix(mt, "+json")) && len(raw) > 0 {
		var v any
		if err := json.Unmarshal(raw, &v); err == nil {
			decoded = v
		} else {
			x.Notes = append(x.Notes, "the response says JSON but is not; kept as text")
		}
	}
	return map[string]any{"status": resp.StatusCode, "headers": hs, "body": decoded}, false, nil
}

// hostOf is a URL's host, for errors and the trace (never its path or query,
// which may carry secrets).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the URL"
	}
	return u.Scheme + "://" + u.Host
}
