package marketplace_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

func TestSearchByLabelsAllAndAny(t *testing.T) {
	e := newCatalogEnv(t)
	seedCatalogue(t, e)
	ctx := context.Background()
	cases := []struct {
		name string
		q    marketplace.SearchQuery
		want []string
	}{
		{"all of two", marketplace.SearchQuery{Labels: []string{"quiz", "FUN"}}, []string{"trivia"}},
		{"any of two", marketplace.SearchQuery{Labels: []string{"music", " fun "}, LabelMatch: "any"}, []string{"song-requests", "trivia", "dice"}},
		{"any with a text query", marketplace.SearchQuery{Q: "trivia", Labels: []string{"fun", "music"}, LabelMatch: "any"}, []string{"trivia"}},
		{"all with none carrying both", marketplace.SearchQuery{Labels: []string{"music", "quiz"}}, nil},
		{"empty labels filter nothing", marketplace.SearchQuery{Labels: []string{"", " "}}, []string{"quizmaster", "song-requests", "trivia", "dice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.svc.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := slugs(res); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []marketplace.SearchQuery{
		{Labels: []string{"a"}, LabelMatch: "some"},
		{Labels: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")},
		{Labels: []string{strings.Repeat("x", 41)}},
	} {
		if _, err := e.svc.Search(ctx, bad); !problem.Is(err, problem.Invalid) {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
}
