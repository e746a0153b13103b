package platform

import (
	"context"
	"errors"
	"testing"
	"time"
)

// SendWait answers with the send's own outcome: nil once sent, the
// platform's refusal as is, the last RetryAfter after MaxAttempts, and a
// full queue at once.
func TestSendWait(t *testing.T) {
	refused := errors.New("50007: Cannot send messages to this user")
	o := NewSendQueue(SendQueueConfig{Platform: "test", Capacity: 1, MaxAttempts: 2})
	runQueue(t, o)
	ctx := t.Context()

	if err := o.SendWait(ctx, "dm", High, func(context.Context) error { return nil }); err != nil {
		t.Errorf("a sent message answered %v, want nil", err)
	}
	if err := o.SendWait(ctx, "dm", High, func(context.Context) error { return refused }); !errors.Is(err, refused) {
		t.Errorf("a refused message answered %v, want the refusal", err)
	}
	calls := 0
	err := o.SendWait(ctx, "dm", High, func(context.Context) error {
		calls++
		return &RetryAfter{Wait: time.Millisecond}
	})
	var ra *RetryAfter
	if !errors.As(err, &ra) || calls != 2 {
		t.Errorf("a message rate limited on every try answered %v after %d tries, want RetryAfter after 2", err, calls)
	}

	// A queue holding one message that cannot go out yet refuses a Low one at once.
	release := make(chan struct{})
	o.Send("busy", High, func(context.Context) error { <-release; return nil })
	eventually(t, "the busy send in flight", func() bool { return o.Stats().Depth == 0 })
	o.Send("busy", High, func(context.Context) error { return nil })
	if err := o.SendWait(ctx, "busy", Low, func(context.Context) error { return nil }); !errors.Is(err, ErrQueueFull) {
		t.Errorf("a low message into a full queue answered %v, want ErrQueueFull", err)
	}
	close(release)

	// The waiter's context ending stops the wait.
	stop := make(chan struct{})
	defer close(stop)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := o.SendWait(cctx, "slow", High, func(context.Context) error { <-stop; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait answered %v, want context.Canceled", err)
	}
}
