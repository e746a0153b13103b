package labels

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Limits on a search.
const (
	MaxSearchLabels = 10
	MaxSearchLimit  = 100
)

// Query is a search for people by labels.
type Query struct {
	Labels   []string // ids or names of the community's labels
	MatchAll bool     // all of the labels; false: any of them
	Limit    int      // 1..MaxSearchLimit; 0: 50
	Offset   int
}

// Account is one platform account of a person found.
type Account struct {
	Platform string `json:"platform"`
	ID       string `json:"account"`
	Name     string `json:"name"`
}

// Person is a person found by a search.
type Person struct {
	IdentityID      int64     `json:"identity"`
	DisplayName     string    `json:"display_name"`
	PrimaryPlatform string    `json:"primary_platform"`
	Accounts        []Account `json:"accounts"`
}

// SearchPage is a page of people found, and how many there are in all.
type SearchPage struct {
	Total  int64    `json:"total"`
	People []Person `json:"people"`
}

// Search finds the community's people carrying all or any of the labels,
// from the cache when it can.
func (s *Service) Search(ctx context.Context, communityID int64, in Query) (SearchPage, error) {
	if len(in.Labels) == 0 {
		return SearchPage{}, problem.Invalidf("labels", "Name at least one label to search by.")
	}
	if len(in.Labels) > MaxSearchLabels {
		return SearchPage{}, problem.Invalidf("labels", "Search by at most %d labels.", MaxSearchLabels)
	}
	if in.Limit == 0 {
		in.Limit = 50
	}
	if in.Limit < 1 || in.Limit > MaxSearchLimit {
		return SearchPage{}, problem.Invalidf("limit", "limit must be from 1 to %d.", MaxSearchLimit)
	}
	if in.Offset < 0 || in.Offset > 10_000_000 {
		return SearchPage{}, problem.Invalidf("offset", "offset must be from 0 to 10000000.")
	}
	version, cacheable := s.version(ctx, communityID)
	q := db.New(s.pool)
	ids := make([]int64, 0, len(in.Labels))
	for _, ref := range in.Labels {
		l, err := getLabel(ctx, q, communityID, ref)
		if err != nil {
			return SearchPage{}, problem.Invalidf("labels", "This community has no label %q.", clip(strings.TrimSpace(ref), MaxNameLen))
		}
		ids = append(ids, l.ID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	key := searchKey(ids, in)
	if cacheable {
		if p, ok := s.cache.get(communityID, key, version); ok {
			return p, nil
		}
	}
	p, err := s.search(ctx, communityID, ids, in)
	if err != nil {
		return SearchPage{}, err
	}
	if cacheable {
		s.cache.put(communityID, key, version, p)
	}
	return p, nil
}

func searchKey(ids []int64, in Query) string {
	var b strings.Builder
	if in.MatchAll {
		b.WriteString("all")
	} else {
		b.WriteString("any")
	}
	for _, id := range ids {
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(id, 10))
	}
	fmt.Fprintf(&b, "|%d|%d", in.Limit, in.Offset)
	return b.String()
}

// search asks PostgreSQL, in one read-only transaction whose statements
// are planned for the labels asked about (a cached generic plan scans the
// whole community instead of the labels' index).
func (s *Service) search(ctx context.Context, cid int64, ids []int64, in Query) (SearchPage, error) {
	var page SearchPage
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := db.CustomPlans(ctx, tx); err != nil {
			return err
		}
		q := db.New(tx)
		var found []int64
		var err error
		if in.MatchAll {
			p := db.LabelSearchAllParams{CommunityID: cid, LabelIds: ids, Lim: int32(in.Limit), Off: int32(in.Offset)}
			if found, err = q.LabelSearchAll(ctx, p); err == nil {
				page.Total, err = q.LabelSearchAllCount(ctx, db.LabelSearchAllCountParams{CommunityID: cid, LabelIds: ids})
			}
		} else {
			p := db.LabelSearchAnyParams{CommunityID: cid, LabelIds: ids, Lim: int32(in.Limit), Off: int32(in.Offset)}
			if found, err = q.LabelSearchAny(ctx, p); err == nil {
				page.Total, err = q.LabelSearchAnyCount(ctx, db.LabelSearchAnyCountParams{CommunityID: cid, LabelIds: ids})
			}
		}
		if err != nil {
			return fmt.Errorf("search labels: %w", err)
		}
		page.People, err = shown(ctx, q, found)
		return err
	})
	if err != nil {
		return SearchPage{}, err
	}
	return page, nil
}

// shown reads the display names and accounts of people, in the order given.
func shown(ctx context.Context, q *db.Queries, ids []int64) ([]Person, error) {
	if len(ids) == 0 {
		return []Person{}, nil
	}
	rows, err := q.PeopleShown(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("show people: %w", err)
	}
	by := make(map[int64]db.PeopleShownRow, len(rows))
	for _, r := range rows {
		by[r.ID] = r
	}
	out := make([]Person, 0, len(ids))
	for _, id := range ids {
		r := by[id]
		p := Person{IdentityID: id, DisplayName: r.DisplayName, PrimaryPlatform: r.PrimaryPlatform, Accounts: []Account{}}
		for _, a := range r.Accounts {
			parts := strings.SplitN(a, "\x1f", 3)
			if len(parts) == 3 {
				p.Accounts = append(p.Accounts, Account{Platform: parts[0], ID: parts[1], Name: parts[2]})
			}
		}
		out = append(out, p)
	}
	return out, nil
}
