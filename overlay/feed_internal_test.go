package overlay

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

// TestFeedLateArrivals plays the race that lost alerts in a burst, step by
// step: updates 1 to 3 are committed by instances that have not published
// them yet when update 4 reaches the pages, and then arrive late (3 before 1)
// and twice. Pages on both instances get 1 to 4 at once when 4 arrives, in
// order, and nothing again when the stragglers come.
func TestFeedLateArrivals(t *testing.T) {
	t.Parallel()
	for _, withRedis := range []bool{false, true} {
		name := map[bool]string{false: "memory", true: "redis"}[withRedis]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := dbtest.Pool(t)
			var rdb *redis.Client
			var prefix string
			n := 1
			if withRedis {
				rdb, prefix = dbtest.Redis(t)
				n = 2
			}
			var svcs []*Service
			for range n {
				svc := New(Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Logger: slog.New(slog.DiscardHandler)})
				runCtx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- svc.Run(runCtx) }()
				t.Cleanup(func() { cancel(); <-done })
				<-svc.Ready()
				svcs = append(svcs, svc)
			}
			c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
			if err != nil {
				t.Fatal(err)
			}
			src, _, err := svcs[0].Create(ctx, audit.Actor{}, c.ID, Alerts, "Alerts")
			if err != nil {
				t.Fatal(err)
			}
			var feeds []*Feed
			for _, svc := range svcs {
				f, missed, err := svc.Follow(ctx, src.ID, 0)
				if err != nil || len(missed) != 0 {
					t.Fatalf("Follow = %v, %v", missed, err)
				}
				defer f.Close()
				feeds = append(feeds, f)
			}

			// 1 to 3: stored, not yet published (their instances are slow).
			var stored []Update
			for _, user := range []string{"ann", "bob", "cat"} {
				u := Update{Type: "alert", User: user, Message: user + " followed"}
				raw, _ := json.Marshal(u)
				row, err := db.New(pool).OverlayUpdateInsert(ctx, db.OverlayUpdateInsertParams{SourceID: src.ID, Payload: raw})
				if err != nil {
					t.Fatal(err)
				}
				u.ID = row.Seq
				stored = append(stored, u)
			}
			fourth, err := svcs[n-1].Publish(ctx, src.ID, Update{Type: "alert", User: "dan", Message: "dan followed"})
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]Update{}, stored...), fourth)
			for i, f := range feeds {
				got, err := f.Order(ctx, next(t, f))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("page on instance %d, when 4 arrives (-want +got):\n%s", i, diff)
				}
			}

			// The stragglers arrive late, out of order, one of them twice; then 5.
			for _, u := range []Update{stored[2], stored[0], stored[1], stored[0], fourth} {
				svcs[0].broker.publish(ctx, src.ID, message{Update: &u})
			}
			fifth, err := svcs[0].Publish(ctx, src.ID, Update{Type: "alert", User: "eve", Message: "eve followed"})
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range feeds {
				var got []Update
				for len(got) == 0 || got[len(got)-1].ID != fifth.ID {
					us, err := f.Order(ctx, next(t, f))
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, us...)
				}
				if diff := cmp.Diff([]Update{fifth}, got); diff != "" {
					t.Errorf("page on instance %d after the stragglers (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func next(t *testing.T, f *Feed) Update {
	t.Helper()
	select {
	case u, ok := <-f.Live():
		if !ok {
			t.Fatal("feed closed")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no update")
	}
	return Update{}
}
