package marketplace_test

import (
	"context"
	"slices"
	"testing"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

// seedCatalogue inserts a fixed catalogue of listed modules (and one unlisted).
func seedCatalogue(t *testing.T, e *catalogEnv) {
	t.Helper()
	_, err := e.pool.Exec(context.Background(), `
INSERT INTO marketplace_modules (slug, name, summary, description, author_name, category, labels, price_kind, price_cents,
    active_installs, rating_count, rating_sum, listed, created_at) VALUES
 ('trivia', 'Trivia', 'Questions for your chat.', 'Rounds of questions.', 'a', '{Games,Chat games}', '{quiz,fun}', 'free', 0, 50, 4, 18, true, now() - interval '5 days'),
 ('quizmaster', 'Quiz Master', 'Run quizzes.', 'Like trivia, but with teams and trivia scores.', 'b', '{Games,Chat games}', '{quiz}', 'one_time', 500, 500, 10, 30, true, now() - interval '4 days'),
 ('song-requests', 'Song Requests', 'Viewers request songs.', 'Queue music from chat.', 'c', '{Music}', '{music}', 'monthly', 300, 200, 2, 10, true, now() - interval '3 days'),
 ('dice', 'Dice', 'Roll dice.', 'A tiny game.', 'd', '{Games}', '{fun}', 'free', 0, 10, 0, 0, true, now() - interval '2 days'),
 ('hidden-trivia', 'Trivia Clone', 'Copied.', 'Trivia trivia trivia.', 'e', '{Games,Chat games}', '{quiz}', 'free', 0, 9999, 0, 0, false, now() - interval '1 days')`)
	if err != nil {
		t.Fatal(err)
	}
}

func slugs(r marketplace.SearchResult) []string {
	var s []string
	for _, h := range r.Hits {
		s = append(s, h.Slug)
	}
	return s
}

func TestSearchRelevanceFiltersAndSorts(t *testing.T) {
	e := newCatalogEnv(t)
	seedCatalogue(t, e)
	ctx := context.Background()
	cases := []struct {
		name  string
		q     marketplace.SearchQuery
		want  []string
		total int
	}{
		{"name match ranks above description match", marketplace.SearchQuery{Q: "trivia"}, []string{"trivia", "quizmaster"}, 2},
		{"prefix of the last word", marketplace.SearchQuery{Q: "tri"}, []string{"trivia", "quizmaster"}, 2},
		{"prefix after whole words", marketplace.SearchQuery{Q: "queue mus"}, []string{"song-requests"}, 1},
		{"word in the description only", marketplace.SearchQuery{Q: "teams"}, []string{"quizmaster"}, 1},
		{"stemmed", marketplace.SearchQuery{Q: "rolling"}, []string{"dice"}, 1},
		{"excluded word", marketplace.SearchQuery{Q: "trivia -teams"}, []string{"trivia"}, 1},
		{"no match", marketplace.SearchQuery{Q: "spaceship"}, nil, 0},
		{"no query: popular first", marketplace.SearchQuery{}, []string{"quizmaster", "song-requests", "trivia", "dice"}, 4},
		{"category prefix", marketplace.SearchQuery{Category: []string{"Games"}}, []string{"quizmaster", "trivia", "dice"}, 3},
		{"category path", marketplace.SearchQuery{Category: []string{"Games", "Chat games"}}, []string{"quizmaster", "trivia"}, 2},
		{"label", marketplace.SearchQuery{Label: "fun"}, []string{"trivia", "dice"}, 2},
		{"free", marketplace.SearchQuery{Price: "free"}, []string{"trivia", "dice"}, 2},
		{"paid", marketplace.SearchQuery{Price: "paid"}, []string{"quizmaster", "song-requests"}, 2},
		{"monthly", marketplace.SearchQuery{Price: "monthly"}, []string{"song-requests"}, 1},
		{"minimum rating", marketplace.SearchQuery{MinRating: 4}, []string{"song-requests", "trivia"}, 2},
		{"sort by rating", marketplace.SearchQuery{Sort: "rating"}, []string{"song-requests", "trivia", "quizmaster", "dice"}, 4},
		{"sort by newest", marketplace.SearchQuery{Sort: "newest"}, []string{"dice", "song-requests", "quizmaster", "trivia"}, 4},
		{"query sorted by popularity", marketplace.SearchQuery{Q: "trivia", Sort: "popular"}, []string{"quizmaster", "trivia"}, 2},
		{"a page", marketplace.SearchQuery{Limit: 2, Offset: 1}, []string{"song-requests", "trivia"}, 4},
		{"past the end", marketplace.SearchQuery{Limit: 2, Offset: 10}, nil, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.svc.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := slugs(res); !slices.Equal(got, tc.want) || res.Total != tc.total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, res.Total, tc.want, tc.total)
			}
		})
	}
	res, _ := e.svc.Search(ctx, marketplace.SearchQuery{Q: "trivia"})
	if res.Hits[0].Rank <= res.Hits[1].Rank || res.Sort != marketplace.SortRelevance {
		t.Errorf("ranks %v, %v; sort %q", res.Hits[0].Rank, res.Hits[1].Rank, res.Sort)
	}
	if res.Hits[0].RatingAverage != 4.5 {
		t.Errorf("average %v, want 4.5", res.Hits[0].RatingAverage)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	e := newCatalogEnv(t)
	for name, q := range map[string]marketplace.SearchQuery{
		"sort":       {Sort: "random"},
		"price":      {Price: "cheap"},
		"min_rating": {MinRating: 6},
		"limit":      {Limit: 51},
		"offset":     {Offset: -1},
		"q":          {Q: string(make([]byte, 201))},
		"category":   {Category: []string{"a", "b", "c", "d"}},
	} {
		_, err := e.svc.Search(context.Background(), q)
		if p := problem.As(err); p == nil || p.Field != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Operators and odd input never fail.
	for _, q := range []string{`"unterminated`, `-`, `or`, `a | b & !c`, `'`, `:*`, `trivia:*`, `\`, `тест`, `((`} {
		if _, err := e.svc.Search(context.Background(), marketplace.SearchQuery{Q: q}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}
