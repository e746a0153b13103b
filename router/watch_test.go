package router_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func TestViewerTrackingSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.s.ViewerTracking(ctx, e.cid)
	if err != nil || got != (router.ViewerTracking{Enabled: false, Every: 5 * time.Minute, Points: 1}) {
		t.Fatalf("default = %+v, %v; want off at 1 point per 5 minutes", got, err)
	}
	on := router.ViewerTracking{Enabled: true, Every: 10 * time.Minute, Points: 3}
	by := audit.Actor{UserID: 0, Name: "test"}
	if err := e.s.SetViewerTracking(ctx, by, e.cid, on); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetViewerTracking(ctx, by, e.cid, on); err != nil { // unchanged: not recorded again
		t.Fatal(err)
	}
	if got, _ := e.s.ViewerTracking(ctx, e.cid); got != on {
		t.Errorf("saved %+v, want %+v", got, on)
	}
	var n int
	var before, after string
	if err := e.pool.QueryRow(ctx, `SELECT count(*), min(before::text), min(after::text) FROM audit_log WHERE action = $1 AND community_id = $2`,
		audit.ViewerTrackingChanged, e.cid).Scan(&n, &before, &after); err != nil {
		t.Fatal(err)
	}
	if n != 1 || before != `{"points": 1, "enabled": false, "every_minutes": 5}` || after != `{"points": 3, "enabled": true, "every_minutes": 10}` {
		t.Errorf("%d audit records, before %s after %s", n, before, after)
	}

	for _, c := range []struct {
		name      string
		in        router.ViewerTracking
		field     string
		wantError string
	}{
		{"no interval", router.ViewerTracking{Enabled: true, Points: 1}, "every", "Viewers earn points every 1 to 60 whole minutes."},
		{"interval over an hour", router.ViewerTracking{Enabled: true, Every: 61 * time.Minute, Points: 1}, "every", "Viewers earn points every 1 to 60 whole minutes."},
		{"interval not whole minutes", router.ViewerTracking{Enabled: true, Every: 90 * time.Second, Points: 1}, "every", "Viewers earn points every 1 to 60 whole minutes."},
		{"no points", router.ViewerTracking{Enabled: true, Every: 5 * time.Minute}, "points", "Viewers earn 1 to 1000 points at a time."},
		{"negative points", router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: -5}, "points", "Viewers earn 1 to 1000 points at a time."},
		{"too many points", router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: 1001}, "points", "Viewers earn 1 to 1000 points at a time."},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := e.s.SetViewerTracking(ctx, by, e.cid, c.in)
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != c.field || p.Message != c.wantError {
				t.Errorf("error %v (%+v), want %q on %s", err, p, c.wantError, c.field)
			}
			if got, _ := e.s.ViewerTracking(ctx, e.cid); got != on {
				t.Errorf("refused input changed the setting to %+v", got)
			}
		})
	}
}

// watchEnv is a router env whose channel duckchan is held by instance "a".
func watchEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	held, err := platform.NewLeases(e.pool, "a", time.Minute).Sync(context.Background(), platform.TwitchChannelLeases, []string{"duckchan"})
	if err != nil || len(held) != 1 {
		t.Fatalf("lease: %v %v", held, err)
	}
	return e
}

func (e *env) watchTick(start time.Time, every time.Duration, holder string, viewers ...string) (router.WatchAward, error) {
	tick := router.WatchTick{CommunityID: e.cid, Platform: router.Twitch, Server: "duckchan", Lease: platform.TwitchChannelLeases + "duckchan",
		Holder: holder, Start: start, Every: every}
	for _, v := range viewers {
		tick.Viewers = append(tick.Viewers, router.User{ID: "id-" + v, Name: v})
	}
	return e.r.AwardWatch(context.Background(), tick)
}

// standings is name → points, watched.
func (e *env) standings(by router.Ranking) [][3]any {
	e.t.Helper()
	top, err := e.s.LeaderboardBy(context.Background(), e.cid, by, 10)
	if err != nil {
		e.t.Fatal(err)
	}
	out := [][3]any{}
	for _, s := range top {
		out = append(out, [3]any{s.Name, s.Points, s.Watched})
	}
	return out
}

func TestAwardWatchOncePerPeriod(t *testing.T) {
	t.Parallel()
	e := watchEnv(t)
	ctx := context.Background()
	noon := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

	// Off by default: no channel tracks viewers, and a tick awards nothing.
	if chans, err := e.r.WatchChannels(ctx, router.Twitch, []string{"duckchan"}); err != nil || len(chans) != 0 {
		t.Fatalf("watch channels while off: %+v %v", chans, err)
	}
	if a, err := e.watchTick(noon, 5*time.Minute, "a", "alice"); err != nil || a.Awarded {
		t.Fatalf("tick while off: %+v %v", a, err)
	}
	if n := e.count("SELECT count(*) FROM points_balances"); n != 0 {
		t.Fatalf("%d balances after a tick while off", n)
	}

	if err := e.s.SetViewerTracking(ctx, audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: 2}); err != nil {
		t.Fatal(err)
	}
	chans, err := e.r.WatchChannels(ctx, router.Twitch, []string{"duckchan", "elsewhere"})
	if d := cmp.Diff([]router.WatchChannel{{CommunityID: e.cid, Server: "duckchan", Every: 5 * time.Minute, Points: 2}}, chans); err != nil || d != "" {
		t.Fatalf("watch channels (-want +got) %v:\n%s", err, d)
	}

	// A viewer listed twice earns once.
	a, err := e.watchTick(noon, 5*time.Minute, "a", "alice", "bob", "alice")
	if err != nil || a != (router.WatchAward{Awarded: true, Viewers: 2, Points: 2}) {
		t.Fatalf("first tick: %+v %v", a, err)
	}
	// The same period again, as after a crash before the bot knew: nothing more.
	if a, err := e.watchTick(noon.Add(3*time.Minute), 5*time.Minute, "a", "alice", "bob", "carol"); err != nil || a.Awarded {
		t.Fatalf("repeated tick: %+v %v", a, err)
	}
	// An instance that does not hold the lease writes nothing.
	if _, err := e.watchTick(noon.Add(5*time.Minute), 5*time.Minute, "b", "alice"); !errors.Is(err, router.ErrLeaseLost) {
		t.Fatalf("tick without the lease: %v, want ErrLeaseLost", err)
	}
	if _, err := e.watchTick(noon.Add(5*time.Minute), 5*time.Minute, "a", "carol"); err != nil {
		t.Fatal(err)
	}
	want := [][3]any{{"alice", int64(2), time.Duration(0)}, {"bob", int64(2), time.Duration(0)}, {"carol", int64(2), time.Duration(0)}}
	if d := cmp.Diff(want, e.standings(router.ByPoints)); d != "" {
		t.Errorf("by points (-want +got):\n%s", d)
	}
	if n, sum := e.count("SELECT count(*) FROM points_ledger WHERE reason = 'watch time (5 min)'"), e.count("SELECT sum(delta) FROM points_ledger"); n != 3 || sum != 6 {
		t.Errorf("ledger: %d watch time rows, %d points; want 3 and 6", n, sum)
	}

	// A longer period overlapping one awarded is refused; the next one is not.
	if err := e.s.SetViewerTracking(ctx, audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: 10 * time.Minute, Points: 1}); err != nil {
		t.Fatal(err)
	}
	if a, err := e.watchTick(noon, 10*time.Minute, "a", "alice"); err != nil || a.Awarded {
		t.Fatalf("overlapping period: %+v %v", a, err)
	}
	// A tick made with the old setting is refused too.
	if a, err := e.watchTick(noon.Add(10*time.Minute), 5*time.Minute, "a", "alice"); err != nil || a.Awarded {
		t.Fatalf("tick with a stale interval: %+v %v", a, err)
	}
	if a, err := e.watchTick(noon.Add(10*time.Minute), 10*time.Minute, "a", "alice"); err != nil || !a.Awarded {
		t.Fatalf("next period: %+v %v", a, err)
	}

	// Chatting earns points, but only watching earns watch time.
	e.event(router.Event{Kind: router.Follow, User: router.User{ID: "id-bob", Name: "bob"}})
	wantPoints := [][3]any{{"bob", int64(12), time.Duration(0)}, {"alice", int64(3), time.Duration(0)}, {"carol", int64(2), time.Duration(0)}}
	if d := cmp.Diff(wantPoints, e.standings(router.ByPoints)); d != "" {
		t.Errorf("by points (-want +got):\n%s", d)
	}
	wantTime := [][3]any{{"alice", int64(3), 15 * time.Minute}, {"bob", int64(12), 5 * time.Minute}, {"carol", int64(2), 5 * time.Minute}}
	if d := cmp.Diff(wantTime, e.standings(router.ByWatchTime)); d != "" {
		t.Errorf("by watch time (-want +got):\n%s", d)
	}
	if got := replies(e.say("dave", nil, "!leaderboard time")); got != "Top 10 by watch time: 1. alice (15m), 2. bob (5m), 3. carol (5m)" {
		t.Errorf("!leaderboard time = %q", got)
	}
	if got := replies(e.say("dave", nil, "!leaderboard dance")); got != "@dave usage: !leaderboard [time]" {
		t.Errorf("!leaderboard dance = %q", got)
	}

	// Turned off, the channel is no longer tracked, and a tick in flight awards nothing.
	if err := e.s.SetViewerTracking(ctx, audit.Actor{}, e.cid, router.ViewerTracking{Enabled: false, Every: 10 * time.Minute, Points: 1}); err != nil {
		t.Fatal(err)
	}
	if a, err := e.watchTick(noon.Add(20*time.Minute), 10*time.Minute, "a", "alice"); err != nil || a.Awarded {
		t.Fatalf("tick after turning off: %+v %v", a, err)
	}
	if _, err := e.s.LeaderboardBy(ctx, e.cid, router.Ranking("height"), 10); problem.As(err) == nil {
		t.Errorf("unknown ranking: %v, want a problem", err)
	}
}

// TestAwardWatchForgetsOldPeriods keeps only a day of a channel's periods:
// enough to refuse an overlap, without a row per period forever.
func TestAwardWatchForgetsOldPeriods(t *testing.T) {
	t.Parallel()
	e := watchEnv(t)
	if err := e.s.SetViewerTracking(context.Background(), audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: time.Hour, Points: 1}); err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{noon, noon.Add(time.Hour), noon.Add(27 * time.Hour)} {
		if a, err := e.watchTick(at, time.Hour, "a", "alice"); err != nil || !a.Awarded {
			t.Fatalf("tick at %v: %+v %v", at, a, err)
		}
	}
	if n := e.count("SELECT count(*) FROM watch_ticks"); n != 1 {
		t.Errorf("%d periods kept, want only the one of the last day", n)
	}
	if n := e.count("SELECT count(*) FROM watch_time WHERE seconds = 3 * 3600"); n != 1 {
		t.Errorf("forgetting periods lost watch time")
	}
}
