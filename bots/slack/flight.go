package slackbot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/platform"
)

// flight is one Slack call handed to the send queue, and its final outcome.
type flight struct {
	at   time.Time
	done chan struct{} // closed once err is final
	err  error
	once sync.Once
}

func newFlight(now time.Time) *flight { return &flight{at: now, done: make(chan struct{})} }

// finish records the call's final outcome; later calls do nothing. It is
// also the send queue's drop notification.
func (f *flight) finish(err error) {
	f.once.Do(func() {
		f.err = err
		close(f.done)
	})
}

// run wraps send for the send queue: Slack's 429 becomes a RetryAfter, which is
// not final (the send queue retries it, and reports through finish when it
// gives up); any other result is.
func (f *flight) run(send func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		err := send(ctx)
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			err = &platform.RetryAfter{Wait: max(rl.RetryAfter, time.Second)}
		}
		var ra *platform.RetryAfter
		if !errors.As(err, &ra) {
			f.finish(err)
		}
		return err
	}
}

// reusable reports whether a retry should wait for f rather than make its
// call again: f is still queued or sending, went out, or Slack refused it.
func (f *flight) reusable() bool {
	select {
	case <-f.done:
	default:
		return true
	}
	var se slack.SlackErrorResponse
	return f.err == nil || errors.As(f.err, &se)
}

// flights remembers, for a while, the calls made for each response step,
// so that a job retried on this instance neither sends twice what went out
// nor queues again what still waits in the send queue.
type flights struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]*flight
}

func newFlights(ttl time.Duration, max int) *flights {
	return &flights{ttl: ttl, max: max, m: map[string]*flight{}}
}

// start returns the flight for key: an earlier attempt's (earlier true)
// when a retry should wait for it, else a new one to send. An empty key is
// never remembered.
func (fs *flights) start(key string, now time.Time) (f *flight, earlier bool) {
	if key == "" {
		return newFlight(now), false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.m[key]; f != nil && now.Sub(f.at) < fs.ttl && f.reusable() {
		return f, true
	}
	if len(fs.m) >= fs.max {
		for k, old := range fs.m {
			if now.Sub(old.at) >= fs.ttl {
				delete(fs.m, k)
			}
		}
		if len(fs.m) >= fs.max { // still full: forget the finished ones
			for k, old := range fs.m {
				select {
				case <-old.done:
					delete(fs.m, k)
				default:
				}
			}
		}
	}
	f = newFlight(now)
	fs.m[key] = f
	return f, false
}
