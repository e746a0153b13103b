package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Priority orders what a full queue gives up first.
type Priority int

// Priorities: replies to commands are High; chat points notices and other
// chatter are Low, dropped first when a queue is full.
const (
	Low Priority = iota
	High
)

// Window is one sliding-window budget: at most N sends per Per across every
// channel whose Windows share the Key ("account" for the bot account's
// budget, "channel:#name" for one channel's).
type Window struct {
	Key string
	N   int
	Per time.Duration
}

// RetryAfter is what a send returns when the platform answered "too many
// requests": the message stays first in its queue and its channel (every
// channel when Global) waits Wait before the next send.
type RetryAfter struct {
	Wait   time.Duration
	Global bool
}

func (e *RetryAfter) Error() string { return fmt.Sprintf("rate limited: retry after %s", e.Wait) }

// Send queue errors.
var (
	ErrQueueFull   = errors.New("the send queue is full of more urgent messages: message dropped")
	ErrQueueClosed = errors.New("the send queue is shut down")
)

// SendQueueConfig describes one platform account's sending budget.
type SendQueueConfig struct {
	Platform     string
	Capacity     int                           // messages queued per channel; default 100
	Windows      func(channel string) []Window // the budgets a send in channel spends; nil: none
	DrainTimeout time.Duration                 // how long shutdown keeps sending what is queued; default 5s
	MaxAttempts  int                           // rate-limited retries of one message before it is counted failed; default 5
	Logger       *slog.Logger
	Tracer       trace.Tracer // a span per send to the platform; nil: none
}

// SendQueueStats are the counters the health page and /metrics show.
type SendQueueStats struct {
	Depth       int    // messages waiting
	Sent        uint64 // delivered
	Dropped     uint64 // given up because a queue was full, or left at shutdown
	Failed      uint64 // the platform refused them
	RateLimited uint64 // "too many requests" answers
}

type outMsg struct {
	prio     Priority
	send     func(context.Context) error
	dropped  func(error) // nil: the sender does not want to know
	attempts int
}

// sendLog is one window key's send times within its period.
type sendLog struct {
	per   time.Duration
	times []time.Time
}

type outQueue struct {
	items  []*outMsg
	busy   bool      // a send is in flight: the channel keeps its order
	paused time.Time // no send before this
}

// SendQueue sends one platform account's messages: a queue per channel, each
// sending in order within the account's and the channel's budgets, honouring
// the platform's Retry-After. A full queue drops its oldest Low message, and
// counts and logs every drop.
type SendQueue struct {
	cfg SendQueueConfig

	mu      sync.Mutex
	queues  map[string]*outQueue
	log     map[string]*sendLog // window key → send times within its period
	swept   time.Time           // when log was last cleared of keys with no recent send
	paused  time.Time           // every channel waits until then (a global Retry-After)
	closed  bool
	stats   SendQueueStats
	wake    chan struct{}
	running sync.WaitGroup
}

// NewSendQueue returns an in-memory send queue; Run sends its messages.
func NewSendQueue(cfg SendQueueConfig) *SendQueue {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 100
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Windows == nil {
		cfg.Windows = func(string) []Window { return nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SendQueue{cfg: cfg, queues: map[string]*outQueue{}, log: map[string]*sendLog{}, wake: make(chan struct{}, 1)}
}

// Send queues send for channel and returns at once. It returns
// ErrQueueFull when the channel's queue is full of High messages and this
// one was dropped, and ErrQueueClosed after shutdown.
func (o *SendQueue) Send(channel string, p Priority, send func(ctx context.Context) error) error {
	return o.SendNotify(channel, p, send, nil)
}

// SendNotify is Send, and calls dropped, once, if the send queue later gives the
// message up without a final answer from send: with ErrQueueFull when a
// newer message pushed it out of a full queue, with ErrQueueClosed when
// shutdown left it queued or stopped retrying it, or with the last
// *RetryAfter after MaxAttempts rate-limited attempts. dropped is not called
// when SendNotify itself returns an error; it runs outside the send queue's lock
// and must not block.
func (o *SendQueue) SendNotify(channel string, p Priority, send func(ctx context.Context) error, dropped func(error)) error {
	var victim *outMsg
	defer func() {
		if victim != nil && victim.dropped != nil {
			victim.dropped(ErrQueueFull)
		}
	}()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrQueueClosed
	}
	q := o.queues[channel]
	if q == nil {
		q = &outQueue{}
		o.queues[channel] = q
	}
	if len(q.items) >= o.cfg.Capacity {
		at := -1
		for i, m := range q.items {
			if m.prio == Low {
				at = i
				break
			}
		}
		if at < 0 && p == Low {
			o.stats.Dropped++
			o.cfg.Logger.Warn("send queue full: message dropped", "platform", o.cfg.Platform, "channel", channel, "dropped_total", o.stats.Dropped)
			return ErrQueueFull
		}
		if at < 0 {
			at = 0 // every message is High: the oldest goes
		}
		victim = q.items[at]
		q.items = append(q.items[:at], q.items[at+1:]...)
		o.stats.Dropped++
		o.stats.Depth--
		o.cfg.Logger.Warn("send queue full: oldest low-priority message dropped", "platform", o.cfg.Platform, "channel", channel, "dropped_total", o.stats.Dropped)
	}
	q.items = append(q.items, &outMsg{prio: p, send: send, dropped: dropped})
	o.stats.Depth++
	o.poke()
	return nil
}

// Stats returns the current counters.
func (o *SendQueue) Stats() SendQueueStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

func (o *SendQueue) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends queued messages until ctx ends, then keeps sending what is
// queued for up to DrainTimeout, counts what is left as dropped, and returns.
func (o *SendQueue) Run(ctx context.Context) error {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	deadline := time.Time{}
	for {
		next := o.dispatch(sendCtx)
		if ctx.Err() != nil {
			if deadline.IsZero() {
				deadline = time.Now().Add(o.cfg.DrainTimeout)
				time.AfterFunc(o.cfg.DrainTimeout, cancelSends)
			}
			if o.idle() || time.Now().After(deadline) {
				break
			}
			if next.IsZero() || next.After(deadline) {
				next = deadline
			}
		}
		o.wait(ctx, next, deadline.IsZero())
	}
	o.mu.Lock()
	o.closed = true
	left := o.stats.Depth
	o.mu.Unlock()
	cancelSends()
	o.running.Wait()
	o.mu.Lock()
	o.stats.Dropped += uint64(left)
	o.stats.Depth = 0
	var dropped []func(error)
	for _, q := range o.queues {
		for _, m := range q.items {
			if m.dropped != nil {
				dropped = append(dropped, m.dropped)
			}
		}
	}
	o.queues = map[string]*outQueue{}
	o.mu.Unlock()
	for _, f := range dropped {
		f(ErrQueueClosed)
	}
	if left > 0 {
		o.cfg.Logger.Warn("shutdown: messages still queued were dropped", "platform", o.cfg.Platform, "dropped", left)
	}
	return nil
}

// wait blocks until a message is queued or a send ends, until next (when
// set), or, while running, until ctx ends.
func (o *SendQueue) wait(ctx context.Context, next time.Time, running bool) {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		timer = t.C
	}
	done := ctx.Done()
	if !running {
		done = nil
	}
	select {
	case <-o.wake:
	case <-timer:
	case <-done:
	}
}

// idle reports whether nothing is queued or in flight.
func (o *SendQueue) idle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stats.Depth > 0 {
		return false
	}
	for _, q := range o.queues {
		if q.busy {
			return false
		}
	}
	return true
}

// dispatch starts a send on every channel that may send now, and returns
// when the next waiting channel may (zero: nothing waits on time).
func (o *SendQueue) dispatch(ctx context.Context) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	o.sweep(now)
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for ch, q := range o.queues {
		if q.busy {
			continue
		}
		if len(q.items) == 0 {
			delete(o.queues, ch)
			continue
		}
		at := o.paused
		if q.paused.After(at) {
			at = q.paused
		}
		windows := o.cfg.Windows(ch)
		for _, w := range windows {
			if t := o.freeAt(w, now); t.After(at) {
				at = t
			}
		}
		if at.After(now) {
			later(at)
			continue
		}
		for _, w := range windows {
			if w.N <= 0 || w.Per <= 0 {
				continue
			}
			l := o.log[w.Key]
			if l == nil {
				l = &sendLog{}
				o.log[w.Key] = l
			}
			l.per = max(l.per, w.Per)
			l.times = append(l.times, now)
		}
		m := q.items[0]
		q.items = q.items[1:]
		q.busy = true
		o.stats.Depth--
		o.running.Add(1)
		go o.deliver(ctx, ch, q, m)
	}
	return next
}

// freeAt is when window w has room for one more send, pruning old entries
// and deleting the key once none is left.
func (o *SendQueue) freeAt(w Window, now time.Time) time.Time {
	if w.N <= 0 || w.Per <= 0 {
		return time.Time{}
	}
	sl := o.log[w.Key]
	if sl == nil {
		return time.Time{}
	}
	l := sl.times
	cut := 0
	for cut < len(l) && now.Sub(l[cut]) >= w.Per {
		cut++
	}
	l = l[cut:]
	if len(l) == 0 {
		delete(o.log, w.Key)
		return time.Time{}
	}
	sl.times = l
	if len(l) < w.N {
		return time.Time{}
	}
	return l[len(l)-w.N].Add(w.Per)
}

// sweepEvery is how often dispatch deletes the window keys of channels
// that stopped sending (freeAt only sees the keys of channels with queued
// messages).
const sweepEvery = time.Minute

// sweep deletes, at most every sweepEvery, the window keys whose last send
// is older than their longest period.
func (o *SendQueue) sweep(now time.Time) {
	if now.Sub(o.swept) < sweepEvery {
		return
	}
	o.swept = now
	for k, l := range o.log {
		if len(l.times) == 0 || now.Sub(l.times[len(l.times)-1]) >= l.per {
			delete(o.log, k)
		}
	}
}

func (o *SendQueue) deliver(ctx context.Context, ch string, q *outQueue, m *outMsg) {
	defer o.running.Done()
	err := o.traced(ctx, m)
	var giveUp error // the message is given up while its sender waits for a final answer
	defer func() {
		if giveUp != nil && m.dropped != nil {
			m.dropped(giveUp)
		}
	}()
	o.mu.Lock()
	defer o.mu.Unlock()
	q.busy = false
	var ra *RetryAfter
	switch {
	case err == nil:
		o.stats.Sent++
	case errors.As(err, &ra):
		o.stats.RateLimited++
		m.attempts++
		until := time.Now().Add(ra.Wait)
		if ra.Global {
			o.paused = until
		} else {
			q.paused = until
		}
		if m.attempts >= o.cfg.MaxAttempts || o.closed {
			o.stats.Failed++
			o.cfg.Logger.Warn("message still rate limited after retries: given up", "platform", o.cfg.Platform, "channel", ch, "attempts", m.attempts)
			giveUp = err
			if o.closed && m.attempts < o.cfg.MaxAttempts {
				giveUp = ErrQueueClosed
			}
			break
		}
		o.cfg.Logger.Info("rate limited by the platform: waiting", "platform", o.cfg.Platform, "channel", ch, "wait", ra.Wait, "global", ra.Global)
		q.items = append([]*outMsg{m}, q.items...)
		o.stats.Depth++
		if o.queues[ch] == nil {
			o.queues[ch] = q
		}
	default:
		o.stats.Failed++
		o.cfg.Logger.Warn("message not sent", "platform", o.cfg.Platform, "channel", ch, "err", err)
	}
	o.poke()
}

// safeSend runs send, turning a panic into an error.
func safeSend(ctx context.Context, send func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("send panicked: %v", p)
		}
	}()
	return send(ctx)
}

// SendWait queues send like Send and waits for its final answer: nil once
// sent, the platform's refusal, or what the queue gave the message up with
// (ErrQueueFull, ErrQueueClosed, the last *RetryAfter). A rate-limited send
// is retried as usual before it answers. When ctx ends first, SendWait
// returns ctx's error and the message stays queued.
func (o *SendQueue) SendWait(ctx context.Context, channel string, p Priority, send func(ctx context.Context) error) error {
	done := make(chan error, 1)
	answer := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	wrapped := func(ctx context.Context) error {
		err := send(ctx)
		var ra *RetryAfter
		if !errors.As(err, &ra) { // a rate-limited send is retried, or given up through dropped
			answer(err)
		}
		return err
	}
	if err := o.SendNotify(channel, p, wrapped, answer); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
