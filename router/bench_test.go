package router_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/router"
)

// BenchmarkChatCommand pushes "!hi" chat commands from 5,000 users in 20
// channels through the whole in-process path (community lookup, moderation
// rules, parsing, permission, cooldowns and rate limits in Redis, template,
// points, execution log) with PostgreSQL and Redis running and the cache warm.
// It reports commands per second and the p99 latency of one Handle call.
func BenchmarkChatCommand(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.Pool(b)
	rdb, prefix := dbtest.Redis(b)
	// Flood limits far above the load, so every command runs the whole path
	// (the limits are still checked in Redis for each one).
	r := newRouterTB(b, pool, rdb, prefix, router.Limits{PerUserPerCommand: 1 << 30, PerCommandPerChannel: 1 << 30, PerCommunity: 1 << 30, Window: time.Second})
	s := router.NewSettings(r)
	const channels = 20
	for i := range channels {
		c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: fmt.Sprintf("bench%d", i), Name: "Bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, fmt.Sprintf("chan%d", i), ""); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hi", Response: "hi {user}, welcome to {channel}", Permission: router.Everyone, Enabled: true}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateRule(ctx, audit.Actor{}, c.ID, router.Rule{Priority: 1, Match: router.MatchWord, Pattern: "spam", Action: router.ActionDelete}); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up: every user has chatted once (the cache is loaded and this
	// minute's chat points are paid), as in a running channel.
	for u := range 5000 {
		ev := router.Event{ID: "w", Platform: router.Twitch, Server: fmt.Sprintf("chan%d", u%channels), Channel: "c",
			Kind: router.ChatMessage, User: router.User{ID: fmt.Sprintf("u%d", u), Name: "viewer"}, Text: "hello", Time: time.Now()}
		if _, err := r.Handle(ctx, ev, router.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i := n.Add(1)
			ev := router.Event{ID: fmt.Sprint(i), Platform: router.Twitch, Server: fmt.Sprintf("chan%d", i%channels), Channel: "c",
				Kind: router.ChatMessage, User: router.User{ID: fmt.Sprintf("u%d", i%5000), Name: "viewer"}, Text: "!hi", Time: time.Now()}
			t0 := time.Now()
			res, err := r.Handle(ctx, ev, router.Options{})
			local = append(local, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			if len(res.Responses) != 1 {
				b.Errorf("responses %+v", res.Responses)
				return
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "commands/s")
	}
}
