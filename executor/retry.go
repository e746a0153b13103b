package executor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

const (
	firstBackoff  = 50 * time.Millisecond // then 100ms, 200ms, …
	maxRetryAfter = time.Second           // a longer Retry-After ends the call instead
)

// invokeWithRetry makes the first attempt and up to c.retries more, but only
// after failures where the request surely did not run (it was never sent)
// or the status asks for a retry (429, 502, 503, 504). It never retries
// after a timeout or a 500: the module may have acted on the request.
func (c *Client) invokeWithRetry(ctx context.Context, t Target, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		out, err := c.attempt(ctx, t, body)
		if err == nil {
			return out, nil
		}
		if attempt >= c.retries || ctx.Err() != nil {
			return nil, err
		}
		wait, ok := retryDelay(err, attempt)
		if !ok {
			return nil, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return nil, err
		}
		c.logger.DebugContext(ctx, "retrying remote call", "target", t.label(), "attempt", attempt+1, "wait", wait, "err", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, err
		case <-timer.C:
		}
	}
}

// retryDelay says whether err may be retried, and after how long.
func retryDelay(err error, attempt int) (time.Duration, bool) {
	backoff := firstBackoff << attempt
	if errors.Is(err, ErrBlockedAddress) {
		return 0, false
	}
	if se, ok := errors.AsType[*StatusError](err); ok {
		switch se.Code {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			return 0, false
		}
		if se.retryAfter > maxRetryAfter {
			return 0, false
		}
		return max(backoff, se.retryAfter), true
	}
	return backoff, notSent(err)
}

// notSent reports whether err means the request never left: the connection
// could not be made (refused, unreachable, a transient DNS failure).
func notSent(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	if !ok || op.Op != "dial" {
		return false
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && dnsErr.IsNotFound {
		return false
	}
	return true
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); -1 when
// absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return -1
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return -1
}
