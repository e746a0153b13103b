package router_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// metricValue reads one series from reg: a counter's or gauge's value, or
// a histogram's sample count. It fails the test when the series is absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			return value(m)
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestMetricsCountEventsCommandsAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	r := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, Metrics: reg})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	s := router.NewSettings(r)
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "metrics", Name: "Metrics"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "metricchan", ""); err != nil {
		t.Fatal(err)
	}
	for _, in := range []router.CommandInput{
		{Name: "hi", Response: "hi {user}", Permission: router.Everyone, Enabled: true},
		{Name: "secret", Response: "psst", Permission: router.Moderator, Enabled: true},
	} {
		if _, err := s.CreateCommand(ctx, audit.Actor{}, c.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	say := func(id, server, text string) error {
		ev := router.Event{ID: id, Platform: router.Twitch, Server: server, Channel: "c", Kind: router.ChatMessage, User: router.User{ID: "u1", Name: "ann"}, Text: text}
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		_, err := r.Handle(ctx, ev, router.Options{})
		return err
	}
	if err := say("1", "metricchan", "!hi"); err != nil {
		t.Fatal(err)
	}
	if err := say("2", "metricchan", "!secret"); err != nil {
		t.Fatal(err)
	}
	if err := say("3", "metricchan", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := say("4", "nobody", "!hi"); err != router.ErrNotLinked {
		t.Fatalf("unlinked server: %v", err)
	}
	// A dry run (the simulator) is not traffic.
	ev := router.Event{ID: "5", Platform: router.Twitch, Server: "metricchan", Channel: "c", Kind: router.ChatMessage, User: router.User{ID: "u1", Name: "ann"}, Text: "!hi"}
	if _, err := r.Handle(ctx, ev, router.Options{DryRun: true}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"waddle_router_events_total", map[string]string{"platform": "twitch", "kind": "chat_message"}, 3},
		{"waddle_router_events_total", map[string]string{"platform": "discord", "kind": "chat_message"}, 0},
		{"waddle_router_commands_total", map[string]string{"platform": "twitch", "outcome": "ok"}, 1},
		{"waddle_router_commands_total", map[string]string{"platform": "twitch", "outcome": "denied"}, 1},
		{"waddle_router_handle_duration_seconds", map[string]string{"platform": "twitch"}, 3},
		{"waddle_router_command_duration_seconds", map[string]string{"platform": "twitch"}, 2},
		{"waddle_errors_total", map[string]string{"kind": "not_linked"}, 1},
		{"waddle_errors_total", map[string]string{"kind": "event"}, 0},
	}
	for _, tc := range cases {
		if got := metricValue(t, reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
