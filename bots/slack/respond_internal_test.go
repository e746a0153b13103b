package slackbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// newTestBot is a bot with SLACK_BOT_TOKEN on the local Slack fs, sending
// through its own send queue o (run until the test ends, or until stop).
func newTestBot(t *testing.T, fs *slacktest.Server, logger *slog.Logger, o *platform.SendQueue) (b *Bot, stop func()) {
	t.Helper()
	fs.Join("C1")
	b, err := New(Config{Status: platform.NewStatus(router.Slack), Links: &platform.Links{}, BotToken: "xoxb-1", APIURL: fs.APIURL(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	b.queue = o
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return b, stop
}

// slowChannel allows one post an hour in each channel.
func slowChannel(string) []platform.Window {
	return []platform.Window{{Key: "slow", N: 1, Per: time.Hour}}
}

func replies(n int) router.Result {
	var res router.Result
	for i := range n {
		res.Responses = append(res.Responses, router.Response{Reply: fmt.Sprint("reply ", i)})
	}
	return res
}

func origin(id string) Origin {
	return Origin{Event: router.Event{ID: id, Platform: router.Slack, Kind: router.ChatMessage, Server: "T1", Channel: "C1",
		User: router.User{ID: "U1", Name: "duckling"}}}
}

func TestRespondReturnsWhenTheSendQueueDrops(t *testing.T) {
	t.Parallel()
	fs := slacktest.Start(t)
	o := platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Slack, Capacity: 1, DrainTimeout: 50 * time.Millisecond, Windows: slowChannel})
	b, _ := newTestBot(t, fs, nil, o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := b.Respond(ctx, origin("slack:full"), replies(3))
	if !errors.Is(err, platform.ErrQueueFull) {
		t.Fatalf("respond: %v, want ErrQueueFull: a queue full of newer messages dropped one", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("respond returned after %s, want at once", d)
	}
}

func TestRespondTimesOutAndARetryDoesNotSendTwice(t *testing.T) {
	t.Parallel()
	fs := slacktest.Start(t)
	o := platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Slack, DrainTimeout: 50 * time.Millisecond, Windows: slowChannel})
	b, _ := newTestBot(t, fs, nil, o)
	for attempt := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := b.Respond(ctx, origin("slack:slow"), replies(2))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("attempt %d: %v, want the context's deadline: the second reply waits an hour", attempt, err)
		}
		if n := len(fs.Calls("chat.postMessage")); n != 1 {
			t.Errorf("attempt %d: %d posts, want 1", attempt, n)
		}
		if st := o.Stats(); st.Depth != 1 || st.Sent != 1 {
			t.Errorf("attempt %d: send queue %+v, want the second reply queued once and the first sent once", attempt, st)
		}
	}
}

func TestRespondReturnsWhenTheSendQueueShutsDown(t *testing.T) {
	t.Parallel()
	fs := slacktest.Start(t)
	o := platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Slack, DrainTimeout: 50 * time.Millisecond, Windows: slowChannel})
	b, stop := newTestBot(t, fs, nil, o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Respond(ctx, origin("slack:stop"), replies(2)) }()
	fs.WaitCall(t, "chat.postMessage", func(slacktest.Call) bool { return true }, 5*time.Second)
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, platform.ErrQueueClosed) {
			t.Errorf("respond: %v, want ErrQueueClosed for the reply left at shutdown", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("respond still waiting after the send queue shut down")
	}
	if err := b.Respond(ctx, origin("slack:stop"), replies(2)); !errors.Is(err, platform.ErrQueueClosed) {
		t.Errorf("respond after shutdown: %v, want ErrQueueClosed at once", err)
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestResponseURLStaysOutOfErrors(t *testing.T) {
	t.Parallel()
	fs := slacktest.Start(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, _ := newTestBot(t, fs, logger, platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Slack, Logger: logger}))
	b.http = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})}
	from := origin("slack:cmd:TRIG-U")
	from.ResponseURL = fs.URL() + "/hooks/commands/T1/1/s3cr3tT0ken"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.Respond(ctx, from, replies(1))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("respond: %v, want the post's failure", err)
	}
	if strings.Contains(err.Error(), "s3cr3tT0ken") {
		t.Errorf("error %q carries the response_url", err)
	}
	if strings.Contains(logs.String(), "s3cr3tT0ken") {
		t.Errorf("logs carry the response_url:\n%s", logs.String())
	}
	var ue *url.Error
	if !errors.As(err, &ue) || ue.URL != fs.URL()+"/…" {
		t.Errorf("error %#v, want a url.Error naming only the host", err)
	}

	// Any error text with the address loses it.
	raw := "https://hooks.slack.com/commands/T1/2/t0ken"
	for _, in := range []error{
		fmt.Errorf("failed to post webhook: %w", &url.Error{Op: "Post", URL: raw, Err: context.DeadlineExceeded}),
		fmt.Errorf("status for %s: 500", raw),
	} {
		got := redactURL(in, raw)
		if got == nil || strings.Contains(got.Error(), "t0ken") {
			t.Errorf("redactURL(%q) = %v, want it without the address", in, got)
		}
	}
	if got := redactURL(fmt.Errorf("post: %w", &url.Error{Op: "Post", URL: raw, Err: context.DeadlineExceeded}), raw); !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("redactURL lost the cause: %v", got)
	}
}
