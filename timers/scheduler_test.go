package timers_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
)

func TestFiresOnceAcrossTwoInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tm := e.create(t, twitchTimer("follow"))
	a, b := e.scheduler(), e.scheduler()
	if n := fire(t, a) + fire(t, b); n != 0 {
		t.Fatalf("posted %d before the interval", n)
	}
	e.clock.add(10 * time.Minute)
	var wg sync.WaitGroup
	posted := make([]int, 2)
	for i, sc := range []*timers.Scheduler{a, b} {
		wg.Go(func() { posted[i] = fire(t, sc) })
	}
	wg.Wait()
	if posted[0]+posted[1] != 1 {
		t.Fatalf("posted %v, want once in all", posted)
	}
	want := router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "duckchan", Text: "Follow the channel!"}
	if sent := e.sent.all(); len(sent) != 1 || sent[0] != want || e.sent.cids[0] != e.ducks {
		t.Fatalf("sent %+v to %v, want %+v", sent, e.sent.cids, want)
	}
	if got := e.ticks(t, tm.ID); !slices.Equal(got, []string{timers.Posted}) {
		t.Errorf("ticks %v", got)
	}
	got := e.get(t, tm.ID)
	if got.LastOutcome != timers.Posted || got.NextFireAt == nil || !got.NextFireAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("after the post: %s, next %v", got.LastOutcome, got.NextFireAt)
	}
	if n := fire(t, a) + fire(t, b); n != 0 {
		t.Errorf("posted %d more at the same time", n)
	}
}

func TestSkippedWithTooFewLinesThenPosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := twitchTimer("lines")
	in.MinLines = 3
	tm := e.create(t, in)
	sc := e.scheduler()
	e.chat(t, router.Twitch, "duckchan", "duckchan", 2)
	e.chat(t, router.Twitch, "goosechan", "goosechan", 5) // another community's chat counts nothing here
	if got := e.get(t, tm.ID).LinesSince; got != 2 {
		t.Fatalf("lines since = %d, want 2", got)
	}
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 0 {
		t.Fatalf("posted %d with 2 of 3 lines", n)
	}
	got := e.get(t, tm.ID)
	if got.LastOutcome != timers.SkippedLines || got.Why() == "" || len(e.sent.all()) != 0 {
		t.Fatalf("outcome %q (%s), sent %v", got.LastOutcome, got.Why(), e.sent.all())
	}
	e.chat(t, router.Twitch, "duckchan", "duckchan", 1)
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 1 {
		t.Fatalf("posted %d with 3 lines", n)
	}
	got = e.get(t, tm.ID)
	if got.LastOutcome != timers.Posted || got.LinesSince != 0 {
		t.Errorf("after the post: %q, %d lines", got.LastOutcome, got.LinesSince)
	}
	if ticks := e.ticks(t, tm.ID); !slices.Equal(ticks, []string{timers.SkippedLines, timers.Posted}) {
		t.Errorf("ticks %v", ticks)
	}
}

func TestLinesCountOnlyTheTimersDiscordChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tm := e.create(t, timers.Input{Name: "discord", Message: "Read the rules", Platform: router.Discord, Server: "g1",
		Channel: "c-general", IntervalMinutes: 5, MinLines: 1, Enabled: true})
	e.chat(t, router.Discord, "g1", "c-other", 4)
	e.clock.add(5 * time.Minute)
	if n := fire(t, e.scheduler()); n != 0 || e.get(t, tm.ID).LastOutcome != timers.SkippedLines {
		t.Fatalf("posted %d after lines in another channel", n)
	}
	e.chat(t, router.Discord, "g1", "c-general", 1)
	e.clock.add(5 * time.Minute)
	if n := fire(t, e.scheduler()); n != 1 {
		t.Fatalf("posted %d after a line in its channel", n)
	}
	want := router.Message{Platform: router.Discord, Server: "g1", Channel: "c-general", Text: "Read the rules"}
	if sent := e.sent.all(); len(sent) != 1 || sent[0] != want {
		t.Errorf("sent %+v", sent)
	}
}

func TestOnlyLiveWaitsForTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := twitchTimer("live")
	in.OnlyLive = true
	tm := e.create(t, in)
	sc := e.scheduler()
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 0 || e.get(t, tm.ID).LastOutcome != timers.SkippedOffline {
		t.Fatalf("posted %d while offline (%s)", n, e.get(t, tm.ID).LastOutcome)
	}
	e.stream(t, "goosechan", router.StreamOnline) // another community's stream
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 0 {
		t.Fatalf("posted %d when another community went live", n)
	}
	e.stream(t, "duckchan", router.StreamOnline)
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 1 || e.get(t, tm.ID).LastOutcome != timers.Posted {
		t.Fatalf("posted %d once live", n)
	}
	e.stream(t, "duckchan", router.StreamOffline)
	e.clock.add(10 * time.Minute)
	if n := fire(t, sc); n != 0 || e.get(t, tm.ID).LastOutcome != timers.SkippedOffline {
		t.Fatalf("posted %d after the stream ended", n)
	}
}

func TestNoBurstAfterALongPause(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tm := e.create(t, twitchTimer("pause"))
	sc := e.scheduler()
	// Down for ten intervals, back 30 seconds after the latest fire time:
	// one post for it, the nine before recorded as late.
	e.clock.add(100*time.Minute + 30*time.Second)
	if n := fire(t, sc); n != 1 {
		t.Fatalf("posted %d after the pause, want 1", n)
	}
	want := append(slices.Repeat([]string{timers.SkippedLate}, 9), timers.Posted)
	if got := e.ticks(t, tm.ID); !slices.Equal(got, want) {
		t.Fatalf("ticks %v, want %v", got, want)
	}
	next := e.get(t, tm.ID).NextFireAt
	if wantNext := e.clock.Now().Add(-30 * time.Second).Add(10 * time.Minute); next == nil || !next.Equal(wantNext) {
		t.Errorf("next %v, want %v (the phase kept)", next, wantNext)
	}
	// Down again, back 7 minutes after the latest fire time: too late to post.
	e.clock.add(30*time.Minute - 30*time.Second + 7*time.Minute)
	if n := fire(t, sc); n != 0 {
		t.Fatalf("posted %d far past its time", n)
	}
	got := e.get(t, tm.ID)
	if got.LastOutcome != timers.SkippedLate || len(e.sent.all()) != 1 {
		t.Errorf("outcome %q, sent %d", got.LastOutcome, len(e.sent.all()))
	}
}

func TestAFailedPostIsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sent.refuse = problem.New(problem.Conflict, "The Twitch bot is off on this server.")
	tm := e.create(t, twitchTimer("fails"))
	e.clock.add(10 * time.Minute)
	if n := fire(t, e.scheduler()); n != 0 {
		t.Fatalf("posted %d", n)
	}
	got := e.get(t, tm.ID)
	if got.LastOutcome != timers.Failed || got.LastError != "The Twitch bot is off on this server." {
		t.Fatalf("outcome %q, error %q", got.LastOutcome, got.LastError)
	}
	if ticks := e.ticks(t, tm.ID); !slices.Equal(ticks, []string{timers.Failed}) {
		t.Errorf("ticks %v", ticks)
	}
	e.sent.mu.Lock()
	e.sent.refuse = nil
	e.sent.mu.Unlock()
	e.clock.add(10 * time.Minute)
	if n := fire(t, e.scheduler()); n != 1 || e.get(t, tm.ID).LastError != "" {
		t.Errorf("posted %d after the bot came back; error %q", n, e.get(t, tm.ID).LastError)
	}
}

// TestImportedTimerIsPickedUp: an import writes timers rows itself, with no
// next fire time; the scheduler gives it one, then fires it.
func TestImportedTimerIsPickedUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var id int64
	err := e.pool.QueryRow(ctx, `INSERT INTO timers (community_id, name, message, platform, server, interval_minutes)
		VALUES ($1, 'imported', 'Hi from the old bot', 'twitch', 'duckchan', 15) RETURNING id`, e.ducks).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	sc := e.scheduler()
	if n := fire(t, sc); n != 0 {
		t.Fatalf("posted %d at once", n)
	}
	if next := e.get(t, id).NextFireAt; next == nil || !next.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("next %v", next)
	}
	e.clock.add(15 * time.Minute)
	if n := fire(t, sc); n != 1 {
		t.Fatalf("posted %d", n)
	}
	if sent := e.sent.all(); len(sent) != 1 || sent[0].Channel != "duckchan" || sent[0].Text != "Hi from the old bot" {
		t.Errorf("sent %+v", sent)
	}
}
