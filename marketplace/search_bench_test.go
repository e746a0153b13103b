package marketplace_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
)

// seedBenchCatalogue fills the catalogue with 5,000 modules built from a
// small vocabulary and 50,000 reviews by 1,000 users, keeping each module's
// rating count and sum equal to its reviews.
const seedBenchCatalogue = `
WITH words AS (SELECT ARRAY['trivia','quiz','music','song','points','raffle','giveaway','dice','poll','vote','timer','clip',
    'shoutout','welcome','counter','bank','casino','duel','heist','pet','weather','translate','emote','sound','alert',
    'moderation','filter','spam','link','schedule','reminder','story','joke','fact','fortune','horoscope','lottery','bingo',
    'chess','wordle'] AS w)
INSERT INTO marketplace_modules (slug, name, summary, description, author_name, category, labels, price_kind, price_cents,
    active_installs, created_at)
SELECT 'mod-' || i,
       initcap(w[1 + i % 40]) || ' ' || initcap(w[1 + (i / 40) % 40]) || ' ' || i,
       'A ' || w[1 + (i * 7) % 40] || ' module with ' || w[1 + (i * 11) % 40] || ' for your chat.',
       repeat('Adds ' || w[1 + (i * 13) % 40] || ' and ' || w[1 + (i * 17) % 40] || ' commands, with ' || w[1 + (i * 19) % 40] || ' options. ', 8),
       'author ' || (i % 300),
       ARRAY[(ARRAY['Games','Music','Moderation','Fun','Utilities'])[1 + i % 5], 'Sub ' || (i % 7)],
       ARRAY[w[1 + (i * 3) % 40], w[1 + (i * 5) % 40]],
       (ARRAY['free','free','free','one_time','monthly'])[1 + i % 5],
       CASE WHEN i % 5 >= 3 THEN 100 + i % 900 ELSE 0 END,
       (i * 7919) % 10000,
       now() - (i || ' minutes')::interval
FROM generate_series(1, 5000) AS i, words;

INSERT INTO users (email, display_name)
SELECT 'reviewer' || u || '@example.com', 'Reviewer ' || u FROM generate_series(1, 1000) AS u;

INSERT INTO marketplace_reviews (module_id, user_id, stars, body)
SELECT m.id, u.id, 1 + (m.id + u.id) % 5, 'Review'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE email LIKE 'reviewer%') u
CROSS JOIN generate_series(0, 49) AS k
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM marketplace_modules) m ON m.n = 1 + (u.n * 50 + k * 97) % 5000;

UPDATE marketplace_modules m SET rating_count = r.c, rating_sum = r.s
FROM (SELECT module_id, count(*) AS c, sum(stars) AS s FROM marketplace_reviews GROUP BY module_id) r
WHERE r.module_id = m.id;
ANALYZE marketplace_modules;
ANALYZE marketplace_reviews;
`

// BenchmarkSearch runs a mix of catalogue searches over 5,000 modules and
// reports the 99th percentile of a query's time.
func BenchmarkSearch(b *testing.B) {
	pool := dbtest.Pool(b)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, seedBenchCatalogue); err != nil {
		b.Fatal(err)
	}
	var reviews, sum, ratingSum int
	pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(stars), 0) FROM marketplace_reviews").Scan(&reviews, &sum)
	pool.QueryRow(ctx, "SELECT sum(rating_sum) FROM marketplace_modules").Scan(&ratingSum)
	if reviews != 50000 || sum != ratingSum {
		b.Fatalf("seeded %d reviews (stars %d, modules' sums %d); want 50,000 and equal sums", reviews, sum, ratingSum)
	}
	svc := marketplace.New(marketplace.Config{Pool: pool})
	queries := []marketplace.SearchQuery{
		{Q: "trivia"},
		{Q: "tri"},
		{Q: "music song"},
		{Q: "chess wor"},
		{Q: "raffle", Price: "free"},
		{Q: "dice -casino", Sort: marketplace.SortPopular},
		{Q: `"for your chat"`, Limit: 50},
		{Category: []string{"Games"}, Sort: marketplace.SortRating},
		{Category: []string{"Music", "Sub 3"}, Label: "song"},
		{Label: "poll", MinRating: 3},
		{Sort: marketplace.SortNewest, Offset: 200},
		{},
		{Q: "welcome", MinRating: 3.5, Price: "paid"},
		{Q: "heist OR casino OR duel"},
	}
	for _, q := range queries { // warm up, and make sure each finds something
		res, err := svc.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if res.Total == 0 {
			b.Fatalf("%+v found nothing", q)
		}
	}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := svc.Search(ctx, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	p := func(q float64) float64 { return float64(times[int(float64(len(times)-1)*q)].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}
