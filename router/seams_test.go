package router_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// observerLog is a test Observer: it keeps what it is told.
type observerLog struct {
	mu   sync.Mutex
	seen []router.Handled
}

func (o *observerLog) Observed(_ context.Context, h router.Handled) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, h)
}

func (o *observerLog) all() []router.Handled {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]router.Handled(nil), o.seen...)
}

// sentLog is a test Sender: it keeps what it is asked to send.
type sentLog struct {
	mu   sync.Mutex
	sent []router.Message
	cids []int64
}

func (s *sentLog) Send(_ context.Context, communityID int64, m router.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	s.cids = append(s.cids, communityID)
	return nil
}

// newSeamEnv is newEnv with an Observer and a Sender (either may be nil).
func newSeamEnv(t *testing.T, obs router.Observer, snd router.Sender) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	r := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger,
		Observer: obs, Sender: snd})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, r: r, s: router.NewSettings(r)}
	c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.cid = c.ID
	if _, err := e.s.LinkEntity(context.Background(), audit.Actor{}, c.ID, router.Twitch, "DuckChan", "Duck channel"); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestObserverHearsHandledEvents: the Observer hears of each handled event
// once, with the commands it ran; not of a duplicate delivery or a dry run.
func TestObserverHearsHandledEvents(t *testing.T) {
	t.Parallel()
	obs := &observerLog{}
	e := newSeamEnv(t, obs, nil)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "hello", Response: "hi {user}"})

	e.event(router.Event{ID: "chat-1", Kind: router.ChatMessage, User: router.User{ID: "id-ann", Name: "ann"}, Text: "!hello there"})
	again := e.event(router.Event{ID: "chat-1", Kind: router.ChatMessage, User: router.User{ID: "id-ann", Name: "ann"}, Text: "!hello there"})
	if !again.Duplicate {
		t.Fatal("the second delivery was not answered as a duplicate")
	}
	sim := router.Event{ID: "sim-1", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "bob"}, Text: "!hello"}
	if _, err := e.r.Simulate(ctx, audit.Actor{}, e.cid, sim, true); err != nil {
		t.Fatal(err)
	}
	e.event(router.Event{ID: "follow-1", Kind: router.Follow, User: router.User{ID: "id-cat", Name: "cat"}})

	seen := obs.all()
	if len(seen) != 2 {
		t.Fatalf("the observer heard of %d events, want 2 (the chat command once, the follow; no duplicate, no dry run)", len(seen))
	}
	chat, follow := seen[0], seen[1]
	if chat.CommunityID != e.cid || chat.Event.ID != "chat-1" || replies(chat.Result) != "hi ann" {
		t.Errorf("chat event heard as %+v", chat)
	}
	if len(chat.Commands) != 1 || chat.Commands[0] != (router.CommandRun{Command: "hello", Args: "there", Outcome: "ok"}) {
		t.Errorf("chat event's commands %+v, want hello there → ok", chat.Commands)
	}
	if follow.Event.Kind != router.Follow || len(follow.Commands) != 0 || len(follow.Result.Points) != 1 {
		t.Errorf("follow heard as %+v, want no command and its points", follow)
	}
}

// TestSendToLinkedChannel: a message goes to a server the community linked;
// a dry run lists it instead; another community's server is refused.
func TestSendToLinkedChannel(t *testing.T) {
	t.Parallel()
	snd := &sentLog{}
	e := newSeamEnv(t, nil, snd)
	ctx := context.Background()

	msg := router.Message{Platform: router.Twitch, Server: "DuckChan", Channel: "duckchan", Text: "stream starts in 5 minutes"}
	dry, err := e.r.Send(ctx, e.cid, msg, router.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(snd.sent) != 0 || len(dry.Changes) != 1 || !strings.Contains(dry.Changes[0], `would send "stream starts in 5 minutes" to twitch duckchan`) {
		t.Fatalf("dry run: sent %v, changes %q; want nothing sent and the message listed", snd.sent, dry.Changes)
	}
	if _, err := e.r.Send(ctx, e.cid, msg, router.Options{}); err != nil {
		t.Fatal(err)
	}
	whisper := router.Message{Platform: router.Twitch, Server: "duckchan", User: "id-ann", Text: "your code is 123456"}
	if _, err := e.r.Send(ctx, e.cid, whisper, router.Options{}); err != nil {
		t.Fatal(err)
	}
	if len(snd.sent) != 2 || snd.sent[0].Server != "duckchan" || snd.sent[0].Text != msg.Text || snd.sent[1].User != "id-ann" ||
		snd.cids[0] != e.cid || snd.cids[1] != e.cid {
		t.Fatalf("sent %+v to %v, want the channel message then the whisper, for community %d", snd.sent, snd.cids, e.cid)
	}

	other := e.otherCommunity("geese", "goosechan")
	if _, err := e.r.Send(ctx, other, msg, router.Options{}); !errors.Is(err, router.ErrNotLinked) {
		t.Errorf("to another community's server: %v, want ErrNotLinked", err)
	}
	if _, err := e.r.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: "404", Channel: "1", Text: "hi"}, router.Options{}); !errors.Is(err, router.ErrNotLinked) {
		t.Errorf("to an unlinked server: %v, want ErrNotLinked", err)
	}
	if len(snd.sent) != 2 {
		t.Errorf("refused messages were sent: %+v", snd.sent[2:])
	}
}

// TestSendRefusesBadMessages names the field at fault.
func TestSendRefusesBadMessages(t *testing.T) {
	t.Parallel()
	snd := &sentLog{}
	e := newSeamEnv(t, nil, snd)
	ctx := context.Background()
	cases := []struct {
		name      string
		msg       router.Message
		wantField string
	}{
		{"no text", router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "duckchan", Text: "  "}, "text"},
		{"text too long", router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "duckchan", Text: strings.Repeat("q", router.MaxTextLen+1)}, "text"},
		{"not UTF-8", router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "duckchan", Text: "bad \xff"}, "text"},
		{"nowhere to post", router.Message{Platform: router.Twitch, Server: "duckchan", Text: "hi"}, "channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.r.Send(ctx, e.cid, c.msg, router.Options{})
			if p := problem.As(err); p == nil || p.Field != c.wantField {
				t.Errorf("Send: %v, want a problem with field %q", err, c.wantField)
			}
		})
	}
	if len(snd.sent) != 0 {
		t.Errorf("refused messages were sent: %+v", snd.sent)
	}
}

// TestSendWithoutSender: a server with no Sender says so.
func TestSendWithoutSender(t *testing.T) {
	t.Parallel()
	e := newSeamEnv(t, nil, nil)
	_, err := e.r.Send(context.Background(), e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "duckchan", Text: "hi"}, router.Options{})
	if p := problem.As(err); p == nil || p.Code != problem.Conflict {
		t.Errorf("Send without a Sender: %v, want a conflict", err)
	}
}
