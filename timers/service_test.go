package timers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
)

func TestCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, twitchTimer("taken"))
	cases := []struct {
		name  string
		edit  func(*timers.Input)
		field string
	}{
		{"empty name", func(in *timers.Input) { in.Name = "  " }, "name"},
		{"long name", func(in *timers.Input) { in.Name = strings.Repeat("n", 65) }, "name"},
		{"name taken", func(in *timers.Input) { in.Name = "taken" }, "name"},
		{"empty message", func(in *timers.Input) { in.Message = "" }, "message"},
		{"long message", func(in *timers.Input) { in.Message = strings.Repeat("m", 501) }, "message"},
		{"bad utf-8", func(in *timers.Input) { in.Message = "\xff\xfe" }, "message"},
		{"zero interval", func(in *timers.Input) { in.IntervalMinutes = 0 }, "interval_minutes"},
		{"interval over a day", func(in *timers.Input) { in.IntervalMinutes = 1441 }, "interval_minutes"},
		{"negative lines", func(in *timers.Input) { in.MinLines = -1 }, "min_lines"},
		{"too many lines", func(in *timers.Input) { in.MinLines = 10001 }, "min_lines"},
		{"unknown platform", func(in *timers.Input) { in.Platform = "irc" }, "platform"},
		{"unlinked channel", func(in *timers.Input) { in.Server = "somebody" }, "server"},
		{"another community's channel", func(in *timers.Input) { in.Server = "goosechan" }, "server"},
		{"discord without channel", func(in *timers.Input) { in.Platform, in.Server = router.Discord, "g1" }, "channel"},
		{"discord channel with spaces", func(in *timers.Input) { in.Platform, in.Server, in.Channel = router.Discord, "g1", "a b" }, "channel"},
		{"discord channel too long", func(in *timers.Input) {
			in.Platform, in.Server, in.Channel = router.Discord, "g1", strings.Repeat("1", 101)
		}, "channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := twitchTimer("new")
			c.edit(&in)
			_, err := e.svc.Create(context.Background(), e.by, e.ducks, in)
			wantField(t, err, c.field)
		})
	}
	if ts, err := e.svc.List(context.Background(), e.ducks); err != nil || len(ts) != 1 {
		t.Errorf("timers %d after refusals (%v)", len(ts), err)
	}
}

func TestEditAndAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	in := twitchTimer("Follow")
	in.Server = "DuckChan" // a Twitch login in any case
	tm := e.create(t, in)
	if tm.Server != "duckchan" || tm.Channel != "duckchan" || tm.NextFireAt == nil {
		t.Fatalf("created %+v", tm)
	}
	first := *tm.NextFireAt
	e.clock.add(time.Minute)
	in = twitchTimer("Follow")
	in.Message = "Follow us, please"
	got, err := e.svc.Update(ctx, e.by, e.ducks, tm.ID, in)
	if err != nil || got.Message != "Follow us, please" || !got.NextFireAt.Equal(first) {
		t.Fatalf("update: %+v, %v (same interval keeps the fire time)", got, err)
	}
	in.IntervalMinutes = 30
	if got, err = e.svc.Update(ctx, e.by, e.ducks, tm.ID, in); err != nil || !got.NextFireAt.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("new interval: next %v, %v", got.NextFireAt, err)
	}
	if got, err = e.svc.SetEnabled(ctx, e.by, e.ducks, tm.ID, false); err != nil || got.Enabled || got.NextFireAt != nil {
		t.Fatalf("disable: %+v, %v", got, err)
	}
	e.clock.add(time.Hour)
	if n := fire(t, e.scheduler()); n != 0 {
		t.Fatalf("a disabled timer posted %d", n)
	}
	if got, err = e.svc.SetEnabled(ctx, e.by, e.ducks, tm.ID, true); err != nil || !got.NextFireAt.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("enable: %+v, %v", got, err)
	}
	if err := e.svc.Delete(ctx, e.by, e.ducks, tm.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Get(ctx, e.ducks, tm.ID)
	wantNotFound(t, err)
	var actions []string
	rows, err := e.pool.Query(ctx, `SELECT action FROM audit_log WHERE community_id = $1 ORDER BY id`, e.ducks)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(a, "timer_") {
			actions = append(actions, a)
		}
	}
	want := []string{audit.TimerCreated, audit.TimerUpdated, audit.TimerUpdated, audit.TimerUpdated, audit.TimerUpdated, audit.TimerDeleted}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Errorf("audit %v, want %v", actions, want)
	}
}

// TestAnotherCommunitysTimerIsNotFound: tenancy in SQL.
func TestAnotherCommunitysTimerIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	goose, err := e.svc.Create(ctx, e.by, e.geese, timers.Input{Name: "geese", Message: "Honk", Platform: router.Twitch,
		Server: "goosechan", IntervalMinutes: 5, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Get(ctx, e.ducks, goose.ID)
	wantNotFound(t, err)
	_, err = e.svc.Update(ctx, e.by, e.ducks, goose.ID, twitchTimer("stolen"))
	wantNotFound(t, err)
	_, err = e.svc.SetEnabled(ctx, e.by, e.ducks, goose.ID, false)
	wantNotFound(t, err)
	wantNotFound(t, e.svc.Delete(ctx, e.by, e.ducks, goose.ID))
	if ts, err := e.svc.List(ctx, e.ducks); err != nil || len(ts) != 0 {
		t.Errorf("ducks see %d timers (%v)", len(ts), err)
	}
	if got, err := e.svc.Get(ctx, e.geese, goose.ID); err != nil || got.Name != "geese" || !got.Enabled {
		t.Errorf("the geese's timer changed: %+v, %v", got, err)
	}
}
