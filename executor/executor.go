// Package executor is the transport for community modules that run outside
// the process: signed webhooks, Apache OpenWhisk actions and AWS Lambda
// functions. The router marshals its own JSON request and unmarshals the
// JSON answer; this package only moves the bytes, safely: a dial-time guard
// against private addresses, per-call timeouts, bounded retries of calls that
// surely did not run, a circuit breaker per target, and size limits both ways.
package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/waddle/waddle/problem"
)

// Defaults and limits.
const (
	MaxRequestBytes         = 256 << 10 // a body passed to Invoke
	DefaultMaxResponseBytes = 64 << 10
	DefaultRetries          = 2
	DefaultBreakerFailures  = 5
	DefaultBreakerOpenFor   = 30 * time.Second
)

// Config configures a Client. Zero values take the defaults.
type Config struct {
	// AllowPrivate is an operator setting: let targets reach loopback,
	// private, link-local and reserved addresses. Off, such addresses are
	// refused at dial time with ErrBlockedAddress.
	AllowPrivate bool
	// AmbientAWSCredentials is an operator setting: let Lambda targets
	// without their own keys use this server's AWS credentials (environment,
	// shared files, instance role). Off by default because those are the
	// operator's credentials, not the community's.
	AmbientAWSCredentials bool
	// MaxResponseBytes bounds an answer; DefaultMaxResponseBytes when zero.
	MaxResponseBytes int64
	// Retries is how many extra attempts a call that surely did not run
	// gets; DefaultRetries when zero, none when negative.
	Retries int
	Breaker BreakerConfig
	Logger  *slog.Logger
	Now     func() time.Time // for tests; time.Now when nil
}

// BreakerConfig configures the circuit breaker kept for each target.
type BreakerConfig struct {
	// Failures is how many consecutive failed calls open the circuit;
	// DefaultBreakerFailures when zero.
	Failures int
	// OpenFor is how long an open circuit refuses calls before it lets one
	// trial call through; DefaultBreakerOpenFor when zero.
	OpenFor time.Duration
}

// Client invokes remote modules. It is safe for concurrent use.
type Client struct {
	guarded   *http.Client // user-directed traffic, behind the dial guard
	unguarded *http.Client // AWS's own endpoints (see lambda.go)
	allowAWS  bool
	maxResp   int64
	retries   int
	logger    *slog.Logger
	now       func() time.Time
	breakers  *breakers

	awsMu  sync.Mutex
	awsCfg *aws.Config // the server's own AWS config, loaded on first use
}

// New returns a Client.
func New(cfg Config) *Client {
	c := &Client{
		guarded:   newHTTPClient(!cfg.AllowPrivate),
		unguarded: newHTTPClient(false),
		allowAWS:  cfg.AmbientAWSCredentials,
		maxResp:   cfg.MaxResponseBytes,
		retries:   cfg.Retries,
		logger:    cfg.Logger,
		now:       cfg.Now,
	}
	if c.maxResp <= 0 {
		c.maxResp = DefaultMaxResponseBytes
	}
	if c.retries == 0 {
		c.retries = DefaultRetries
	} else if c.retries < 0 {
		c.retries = 0
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.logger = c.logger.With("component", "executor")
	if c.now == nil {
		c.now = time.Now
	}
	c.breakers = newBreakers(cfg.Breaker, c.logger)
	return c
}

// ValidateTarget is Target.Validate plus this server's policy: a Lambda
// target without its own keys needs Config.AmbientAWSCredentials, and may
// then not override the endpoint (that would send requests signed with the
// server's credentials to a host the user chose).
func (c *Client) ValidateTarget(t Target) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.Kind == Lambda && t.AccessKeyID == "" {
		if !c.allowAWS {
			return problem.Invalidf("AccessKeyID", "is required: this server does not lend its own AWS credentials")
		}
		if t.URL != "" {
			return problem.Invalidf("URL", "can only be set together with AccessKeyID and SecretAccessKey")
		}
	}
	return nil
}

// Invoke sends body, a JSON document, to t and returns the JSON body of the
// answer. It fails before sending anything when t is invalid (a
// *problem.Error), the body is over MaxRequestBytes or not JSON, or the
// target's circuit is open; otherwise with the errors listed in errors.go.
func (c *Client) Invoke(ctx context.Context, t Target, body []byte) ([]byte, error) {
	if err := c.ValidateTarget(t); err != nil {
		return nil, err
	}
	if len(body) > MaxRequestBytes {
		return nil, fmt.Errorf("invoke %s: %d bytes, limit %d: %w", t.label(), len(body), MaxRequestBytes, ErrRequestTooLarge)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("invoke %s: %w", t.label(), ErrInvalidBody)
	}
	callCtx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	out, err := c.breakers.get(t).Execute(func() ([]byte, error) {
		out, err := c.invokeWithRetry(callCtx, t, body)
		return out, finish(ctx, callCtx, t, err)
	})
	if isBreakerRefusal(err) {
		return nil, fmt.Errorf("invoke %s: %w", t.label(), ErrCircuitOpen)
	}
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", t.label(), err)
	}
	return out, nil
}

// finish turns the error of a call whose context ended into ErrTimeout, or
// into the caller's cancellation.
func finish(parent, callCtx context.Context, t Target, err error) error {
	if err == nil || callCtx.Err() == nil {
		return err
	}
	if errors.Is(parent.Err(), context.Canceled) {
		return fmt.Errorf("call abandoned: %w", parent.Err())
	}
	if _, ok := parent.Deadline(); ok && parent.Err() != nil {
		return fmt.Errorf("%w: the caller's deadline passed: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w after %s: %w", ErrTimeout, t.timeout(), err)
}

// attempt makes one try.
func (c *Client) attempt(ctx context.Context, t Target, body []byte) ([]byte, error) {
	switch t.Kind {
	case Webhook:
		return c.invokeWebhook(ctx, t, body)
	case OpenWhisk:
		return c.invokeOpenWhisk(ctx, t, body)
	case Lambda:
		return c.invokeLambda(ctx, t, body)
	}
	return nil, fmt.Errorf("unknown kind %q", t.Kind)
}

// readBody reads all of r, failing with ErrResponseTooLarge past max bytes.
func readBody(r io.Reader, max int64) ([]byte, error) {
	return io.ReadAll(&cappedReader{r: r, limit: max})
}

// readAnswer reads an HTTP answer: a 2xx with a JSON body of at most max
// bytes, or a *StatusError.
func (c *Client) readAnswer(resp *http.Response) ([]byte, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(resp)
	}
	if resp.ContentLength > c.maxResp {
		return nil, fmt.Errorf("%d bytes, limit %d: %w", resp.ContentLength, c.maxResp, ErrResponseTooLarge)
	}
	b, err := readBody(resp.Body, c.maxResp)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("HTTP %d with %q: %w", resp.StatusCode, snippet(b), ErrBadResponse)
	}
	return b, nil
}

// statusError reads the start of a failed answer into a *StatusError.
func (c *Client) statusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1)) // best effort: the status is the error
	return &StatusError{Code: resp.StatusCode, Body: snippet(b), retryAfter: retryAfter(resp.Header, c.now())}
}

// cappedReader passes through up to limit bytes of r and then fails with
// ErrResponseTooLarge if r has more.
type cappedReader struct {
	r     io.Reader
	limit int64
	read  int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	left := c.limit - c.read
	if int64(len(p)) > left+1 {
		p = p[:left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > left {
		c.read = c.limit
		return int(left), fmt.Errorf("over %d bytes: %w", c.limit, ErrResponseTooLarge)
	}
	c.read += int64(n)
	return n, err
}

// cappedBody is a response body behind a cappedReader.
type cappedBody struct {
	*cappedReader
	io.Closer
}

// withoutURL drops the *url.Error layer, whose message repeats the whole
// URL: a webhook URL may carry a token in its path or query.
func withoutURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Waddle-Executor/1")
	return req, nil
}
