package twitch

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// unitBot is a bot that is not run, on no servers.
func unitBot(t *testing.T) *Bot {
	t.Helper()
	b, err := New(Config{Router: &router.Router{}, Tokens: &platform.Tokens{}, Links: &platform.Links{}, Leases: &platform.Leases{},
		Status: platform.NewStatus(Platform), OAuth: &OAuth{}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLostChannelStopsItsWorker(t *testing.T) {
	t.Parallel()
	b := unitBot(t)
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan string, 16)
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() {
		release()
		cancel()
		b.workersWG.Wait()
	})
	var mu sync.Mutex
	var handled []string
	b.handleEvent = func(ctx context.Context, ev router.Event) {
		entered <- ev.ID
		<-gate
		mu.Lock()
		handled = append(handled, ev.ID)
		mu.Unlock()
	}
	until := time.Now().Add(time.Hour)
	b.apply(ctx, []string{"duckchan", "gooschan"}, until)
	for _, id := range []string{"g1", "g2", "g3"} {
		b.enqueue(ctx, "gooschan", router.Event{ID: id})
	}
	select {
	case id := <-entered:
		if id != "g1" {
			t.Fatalf("first message handled %q, want g1", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not take the first message")
	}
	b.mu.Lock()
	w := b.workers["gooschan"]
	b.mu.Unlock()

	// Another instance takes #gooschan over while g1 is in hand and g2, g3 wait.
	b.apply(ctx, []string{"duckchan"}, until)
	b.mu.Lock()
	_, kept := b.workers["gooschan"]
	b.mu.Unlock()
	if kept {
		t.Errorf("the lost channel's worker is still registered")
	}
	release()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the lost channel's worker goroutine is still running")
	}
	b.enqueue(ctx, "gooschan", router.Event{ID: "g4"})
	b.enqueue(ctx, "duckchan", router.Event{ID: "d1"})
	eventually(t, "d1 handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(handled, "d1")
	})
	mu.Lock()
	got := slices.Clone(handled)
	mu.Unlock()
	if diff := cmp.Diff([]string{"g1", "d1"}, got); diff != "" {
		t.Errorf("handled (-want +got):\n%s\nthe lost channel's waiting messages belong to the instance that took it over", diff)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.workers["gooschan"]; ok || len(b.workers) != 1 {
		t.Errorf("workers after a message in the lost channel: %v", b.workers)
	}
}

func TestShutdownFinishesTheMessageInHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	b, err := New(e.config("a"))
	if err != nil {
		t.Fatal(err)
	}
	entered, gate := make(chan struct{}), make(chan struct{})
	var enterOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate) }) }
	ctxErr := make(chan error, 1)
	b.handleEvent = func(ctx context.Context, ev router.Event) {
		enterOnce.Do(func() { close(entered) })
		<-gate
		ctxErr <- ctx.Err()
		b.handle(ctx, ev)
	}
	r := e.run(b)
	t.Cleanup(release) // before r.stop
	e.irc.WaitJoined(t, "duckchan")
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the message was not handled")
	}

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.stop()
	}()
	time.Sleep(r.cfg.DrainTimeout + 500*time.Millisecond) // a send queue drained from the stop would be closed by now
	release()
	if err := <-ctxErr; err != nil {
		t.Errorf("the message in hand was handled with an ended context: %v", err)
	}
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply %q", got[0].Text)
	}
	<-stopped
	if st := b.SendQueue().Stats(); st.Sent != 1 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("send queue %+v, want the reply sent", st)
	}
	if said := e.irc.Said(); len(said) != 1 {
		t.Errorf("said %+v, want only the reply: the relay's flush line reached Twitch", said)
	}
}

func TestLeavesChannelsBeforeTheirLeasesLapse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		block string // SQL run in a transaction held open until the channel is left
	}{
		{name: "renewals hang", block: "SELECT 1 FROM bot_leases WHERE name = 'twitch:channel:duckchan' FOR UPDATE"},
		{name: "links cannot be listed", block: "LOCK TABLE platform_entities IN ACCESS EXCLUSIVE MODE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			cfg := e.config("a")
			cfg.SyncEvery = 400 * time.Millisecond // channels are kept 2.2 s after a renewal starts
			b := e.start(cfg)
			e.irc.WaitJoined(t, "duckchan")
			eventually(t, "1 server", func() bool { return b.cfg.Status.Snapshot().Servers == 1 })

			// The database stops answering the bot's sync.
			ctx := context.Background()
			tx, err := e.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, c.block); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the part from #duckchan", func() bool { return len(e.irc.Live("duckchan")) == 0 })
			left := time.Now()
			var expires time.Time
			if err := e.pool.QueryRow(ctx, "SELECT expires_at FROM bot_leases WHERE name = 'twitch:channel:duckchan'").Scan(&expires); err != nil {
				t.Fatal(err)
			}
			if !left.Before(expires) {
				t.Errorf("left #duckchan at %s, after its lease expired at %s: another instance could serve it meanwhile",
					left.Format(time.StampMilli), expires.Format(time.StampMilli))
			}
			eventually(t, "0 servers", func() bool { return b.cfg.Status.Snapshot().Servers == 0 })

			// The database answers again: the channel is served again.
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			e.irc.WaitJoined(t, "duckchan")
			eventually(t, "1 server again", func() bool { return b.cfg.Status.Snapshot().Servers == 1 })
		})
	}
}
