package identity_test

import (
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/identity"
)

// BenchmarkEventIdentityCost measures what identities add to the router's
// handling of one event: the cached identity lookup of the speaking account
// and the recording of the sighting, for 5,000 accounts chatting from many
// goroutines at once. It reports the p99 of that added cost per event.
//
//	go test -run '^$' -bench EventIdentityCost -benchtime 200000x ./identity
func BenchmarkEventIdentityCost(b *testing.B) {
	pool := dbtest.Pool(b)
	ctx := b.Context()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		b.Fatal(err)
	}
	ids := identity.NewService(identity.Config{Pool: pool, Logger: slog.New(slog.DiscardHandler), FlushEvery: time.Hour})
	const accounts = 5000
	names := make([]string, accounts)
	for i := range accounts {
		names[i] = "viewer" + strconv.Itoa(i)
		ids.Seen(c.ID, "twitch", names[i], names[i], time.Now())
	}
	if err := ids.FlushSeen(ctx); err != nil {
		b.Fatal(err)
	}
	for _, n := range names { // the cache is warm, as it is for the people in a busy chat
		if _, err := ids.IdentityOf(ctx, "twitch", n, n); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		i := 0
		for pb.Next() {
			n := names[i%accounts]
			i += 7
			start := time.Now()
			id, err := ids.IdentityOf(ctx, "twitch", n, n)
			ids.Seen(c.ID, "twitch", n, n, start)
			local = append(local, time.Since(start))
			if err != nil || id == 0 {
				b.Errorf("lookup: %d, %v", id, err)
				return
			}
		}
		mu.Lock()
		all = append(all, local...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds()), "p99-ns/event")
		b.ReportMetric(float64(all[len(all)/2].Nanoseconds()), "p50-ns/event")
	}
}
