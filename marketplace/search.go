package marketplace

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Search sorts.
const (
	SortRelevance = "relevance" // the default with a query
	SortPopular   = "popular"   // active installs; the default without one
	SortRating    = "rating"
	SortNewest    = "newest"
)

// Price filters besides the price kinds.
const PricePaid = "paid"

// Search limits.
const (
	MaxSearchLimit     = 50
	DefaultSearchLimit = 20
	maxSearchQuery     = 200
	maxSearchOffset    = 10000
	maxSearchLabels    = 10
	maxLabelLen        = 40
)

// SearchQuery is what the catalogue is searched for; the zero value lists
// every listed module, most installed first.
type SearchQuery struct {
	Q        string   // words, "a phrase", -excluded, or; the last word matches as a prefix
	Category []string // a path from the top: modules in it or below it
	Label    string
	// Labels filters by several labels: modules carrying all of them
	// (LabelMatch "all", the default) or any of them ("any").
	Labels     []string
	LabelMatch string
	Price      string  // free, paid, one_time, monthly; "" for any
	MinRating  float64 // 0 for any; else 1–5
	Sort       string  // relevance, popular, rating, newest; "" for the default
	Limit      int     // 1–50; DefaultSearchLimit when 0
	Offset     int
}

// SearchHit is one module found, with its rank for the query.
type SearchHit struct {
	Module
	Rank float64 `json:"rank"`
}

// SearchResult is one page of hits and how many there are in all.
type SearchResult struct {
	Hits   []SearchHit `json:"modules"`
	Total  int         `json:"total"`
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
	Sort   string      `json:"sort"`
}

// NextOffset is the offset of the next page; 0 when this is the last.
func (r SearchResult) NextOffset() int {
	if r.Offset+len(r.Hits) < r.Total {
		return r.Offset + len(r.Hits)
	}
	return 0
}

// Normalize checks q and fills in its defaults.
func (q *SearchQuery) Normalize() error {
	q.Q = strings.TrimSpace(q.Q)
	if len([]rune(q.Q)) > maxSearchQuery {
		return problem.Invalidf("q", "A search is at most %d characters.", maxSearchQuery)
	}
	if len(q.Category) > maxCategoryDepth {
		return problem.Invalidf("category", "A category has at most %d levels.", maxCategoryDepth)
	}
	q.Label = strings.ToLower(strings.TrimSpace(q.Label))
	if len(q.Labels) > maxSearchLabels {
		return problem.Invalidf("labels", "Filter by at most %d labels.", maxSearchLabels)
	}
	var ls []string
	for _, l := range q.Labels {
		if l = strings.ToLower(strings.TrimSpace(l)); l == "" {
			continue
		}
		if len([]rune(l)) > maxLabelLen {
			return problem.Invalidf("labels", "A label is at most %d characters.", maxLabelLen)
		}
		ls = append(ls, l)
	}
	q.Labels = ls
	switch q.LabelMatch {
	case "":
		q.LabelMatch = "all"
	case "all", "any":
	default:
		return problem.Invalidf("label_match", "Match all or any of the labels.")
	}
	switch q.Price {
	case "", PriceFree, PricePaid, PriceOneTime, PriceMonthly:
	default:
		return problem.Invalidf("price", "Choose free, paid, one_time or monthly.")
	}
	if q.MinRating < 0 || q.MinRating > 5 {
		return problem.Invalidf("min_rating", "A minimum rating is between 1 and 5.")
	}
	switch q.Sort {
	case "":
		q.Sort = SortPopular
		if q.Q != "" {
			q.Sort = SortRelevance
		}
	case SortRelevance, SortPopular, SortRating, SortNewest:
	default:
		return problem.Invalidf("sort", "Sort by relevance, popular, rating or newest.")
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return problem.Invalidf("limit", "A page has 1 to %d modules.", MaxSearchLimit)
	}
	if q.Offset < 0 || q.Offset > maxSearchOffset {
		return problem.Invalidf("offset", "The offset is between 0 and %d.", maxSearchOffset)
	}
	return nil
}

// Search finds listed modules: full-text over name (weighted most),
// summary and description, ranked, with popularity breaking ties.
func (s *Service) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	if err := q.Normalize(); err != nil {
		return SearchResult{}, err
	}
	head, prefix := splitPrefix(q.Q)
	var (
		rows []db.MarketplaceSearchRow
		err  error
	)
	all, anyOf := q.Labels, []string{}
	if q.LabelMatch == "any" {
		all, anyOf = []string{}, q.Labels
	}
	if all == nil {
		all = []string{}
	}
	if q.Q == "" {
		// Browsing: a query of its own, so that a text query's plan can use the search index.
		browsed, err := db.New(db.PlannedPerCall(s.read)).MarketplaceBrowse(ctx, db.MarketplaceBrowseParams{Category: nonNil(q.Category), Label: q.Label,
			LabelsAll: all, LabelsAny: anyOf, Price: q.Price, MinRating: q.MinRating, Sort: q.Sort, Lim: int32(q.Limit), Off: int32(q.Offset)})
		if err != nil {
			return SearchResult{}, fmt.Errorf("list modules: %w", err)
		}
		rows = make([]db.MarketplaceSearchRow, len(browsed))
		for i, r := range browsed {
			rows[i] = db.MarketplaceSearchRow(r)
		}
	} else {
		rows, err = db.New(db.PlannedPerCall(s.read)).MarketplaceSearch(ctx, db.MarketplaceSearchParams{Query: q.Q, Head: head, Prefix: prefix,
			Category: nonNil(q.Category), Label: q.Label, LabelsAll: all, LabelsAny: anyOf, Price: q.Price, MinRating: q.MinRating, Sort: q.Sort,
			Lim: int32(q.Limit), Off: int32(q.Offset)})
		if err != nil {
			return SearchResult{}, fmt.Errorf("search modules: %w", err)
		}
	}
	res := SearchResult{Hits: make([]SearchHit, len(rows)), Limit: q.Limit, Offset: q.Offset, Sort: q.Sort}
	for i, r := range rows {
		res.Hits[i] = SearchHit{Module: toModule(db.MarketplaceListing{ID: r.ID, Slug: r.Slug, Name: r.Name, Summary: r.Summary,
			Description: r.Description, AuthorID: r.AuthorID, AuthorName: r.AuthorName, Homepage: r.Homepage, Category: r.Category,
			Labels: r.Labels, Core: r.Core, PriceKind: r.PriceKind, PriceCents: r.PriceCents, Currency: r.Currency, Listed: r.Listed,
			UnlistedReason: r.UnlistedReason, ActiveInstalls: r.ActiveInstalls, RatingCount: r.RatingCount, RatingSum: r.RatingSum,
			LatestVersion: r.LatestVersion, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}), Rank: r.Rank}
		res.Total = int(r.Total)
	}
	if len(rows) == 0 && q.Offset > 0 {
		// Past the end: count what there is.
		all, err := s.Search(ctx, SearchQuery{Q: q.Q, Category: q.Category, Label: q.Label, Price: q.Price, MinRating: q.MinRating,
			Sort: q.Sort, Limit: 1})
		if err != nil {
			return SearchResult{}, err
		}
		res.Total = all.Total
	}
	return res, nil
}

// splitPrefix splits a search into the words before the last, and the
// last word (letters and digits only) to match as a prefix, so that
// typing "tri" finds "trivia". A search ending in a space, a quote or an
// operator has no prefix.
func splitPrefix(q string) (head, prefix string) {
	if q == "" || !unicode.IsLetter(rune(q[len(q)-1])) && !unicode.IsDigit(rune(q[len(q)-1])) && q[len(q)-1] < 0x80 {
		return q, ""
	}
	i := strings.LastIndexFunc(q, unicode.IsSpace)
	last := q[i+1:]
	if strings.ContainsAny(last, `"-`) || strings.EqualFold(last, "or") {
		return q, ""
	}
	if strings.Count(q[:i+1], `"`)%2 == 1 {
		return q, "" // inside a phrase
	}
	var b strings.Builder
	for _, r := range last {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return strings.TrimSpace(q[:i+1]), b.String()
}

// Category is a top-level category and how many listed modules it holds.
type Category struct {
	Name    string
	Modules int
}

// Categories lists the top-level categories of listed modules.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := db.New(s.read).MarketplaceCategories(ctx)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	out := make([]Category, len(rows))
	for i, r := range rows {
		out[i] = Category{Name: r.Name, Modules: int(r.Modules)}
	}
	return out, nil
}
