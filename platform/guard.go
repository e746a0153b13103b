package platform

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// EventTimeout bounds the handling of one platform event by a bot.
const EventTimeout = 15 * time.Second

// Guard runs fn for one platform event with a context that ends after
// timeout (or with ctx), and turns a panic into a logged error, so one bad
// event never stops a bot.
func Guard(ctx context.Context, logger *slog.Logger, timeout time.Duration, fn func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			logger.ErrorContext(ctx, "event handler panicked", "err", p, "stack", string(debug.Stack()))
		}
	}()
	fn(ctx)
}

// Backoff is how long to wait before reconnect attempt n (0-based): doubling
// from one second to a minute, with up to a quarter of jitter so instances
// do not reconnect in step.
func Backoff(n int) time.Duration {
	d := time.Second << min(n, 6)
	if d > time.Minute {
		d = time.Minute
	}
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}
