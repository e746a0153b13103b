package identity

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// The people of a community are the identities it has seen (community_people):
// everyone who chatted, earned points, watched or was moderated there. This
// file lists and searches them; people_profile.go shows one.

// Bounds of a people search.
const (
	MaxPeopleQuery    = 100 // characters
	DefaultPeoplePage = 25
	MaxPeoplePage     = 100
)

// PersonAccount is one platform account of a person.
type PersonAccount struct {
	Account
	LinkedAt *time.Time // when it joined the identity; nil while alone
	LinkedBy string     // "chat", "oauth" or ""
}

// PersonSummary is a person as a list of people shows them.
type PersonSummary struct {
	ID              int64
	DisplayName     string
	PrimaryPlatform string
	Accounts        []PersonAccount
	Reputation      int
	Balance         int64
	FirstSeen       time.Time
	LastSeen        time.Time
}

// PeopleQuery asks for a page of a community's people.
type PeopleQuery struct {
	// Search is a name, or its start, on any platform, case-insensitive (a
	// leading @ is ignored); empty lists everyone, last seen first.
	Search string
	Cursor string // from the previous page's Next; "" for the first page
	Limit  int    // 0: DefaultPeoplePage
}

// PeoplePage is one page of people.
type PeoplePage struct {
	People []PersonSummary
	Next   string // the cursor of the next page; "" on the last
}

// ErrBadCursor: a cursor this list did not give.
var ErrBadCursor = problem.Invalidf("cursor", "The cursor is not one this list gave; start again without it.")

// NormalizePeopleSearch is the search as it is matched: trimmed, without a
// leading @. It refuses one longer than MaxPeopleQuery characters or with
// control characters.
func NormalizePeopleSearch(q string) (string, error) {
	q = strings.TrimPrefix(strings.TrimSpace(q), "@")
	if utf8.RuneCountInString(q) > MaxPeopleQuery || !utf8.ValidString(q) {
		return "", problem.Invalidf("q", "Search for a name of at most %d characters.", MaxPeopleQuery)
	}
	if strings.IndexFunc(q, unicode.IsControl) >= 0 {
		return "", problem.Invalidf("q", "A name has no control characters.")
	}
	return q, nil
}

// People lists or searches the people of a community. A search matches the
// start of the name of any of a person's accounts, exactly, case-insensitive,
// and lists people by the first of their names that matches.
func (s *Service) People(ctx context.Context, communityID int64, in PeopleQuery) (PeoplePage, error) {
	search, err := NormalizePeopleSearch(in.Search)
	if err != nil {
		return PeoplePage{}, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultPeoplePage
	}
	limit = min(limit, MaxPeoplePage)
	q := db.New(s.pool)
	var page PeoplePage
	if search == "" {
		page, err = s.recentPeople(ctx, q, communityID, in.Cursor, limit)
	} else {
		page, err = s.searchPeople(ctx, q, communityID, search, in.Cursor, limit)
	}
	if err != nil {
		return PeoplePage{}, err
	}
	return page, s.withAccounts(ctx, q, page.People)
}

func (s *Service) recentPeople(ctx context.Context, q *db.Queries, communityID int64, cursor string, limit int) (PeoplePage, error) {
	p := db.PeopleRecentParams{CommunityID: communityID, First: cursor == "", Lim: int32(limit) + 1}
	if cursor != "" {
		parts, err := decodeCursor(cursor, "r", 2)
		if err != nil {
			return PeoplePage{}, err
		}
		us, err1 := strconv.ParseInt(parts[0], 10, 64)
		id, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err1 != nil || err2 != nil {
			return PeoplePage{}, ErrBadCursor
		}
		p.BeforeSeen, p.BeforeID = time.UnixMicro(us), id
	}
	rows, err := q.PeopleRecent(ctx, p)
	if err != nil {
		return PeoplePage{}, fmt.Errorf("list people of community %d: %w", communityID, err)
	}
	var page PeoplePage
	for i, r := range rows {
		if i == limit {
			last := page.People[limit-1]
			page.Next = encodeCursor("r", strconv.FormatInt(last.LastSeen.UnixMicro(), 10), strconv.FormatInt(last.ID, 10))
			break
		}
		page.People = append(page.People, PersonSummary{ID: r.IdentityID, DisplayName: r.DisplayName, PrimaryPlatform: r.PrimaryPlatform,
			Reputation: int(r.Reputation), Balance: r.Balance, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen})
	}
	return page, nil
}

func (s *Service) searchPeople(ctx context.Context, q *db.Queries, communityID int64, search, cursor string, limit int) (PeoplePage, error) {
	lo := strings.ToLower(search)
	p := db.PeopleSearchByNameParams{CommunityID: communityID, Lo: lo, Hi: prefixEnd(lo), AfterName: lo, Lim: int32(limit) + 1}
	if cursor != "" {
		parts, err := decodeCursor(cursor, "n", 3)
		if err != nil {
			return PeoplePage{}, err
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || parts[0] != lo || parts[2] < lo {
			return PeoplePage{}, ErrBadCursor // a cursor of another search
		}
		p.AfterID, p.AfterName = id, parts[2]
	}
	rows, err := q.PeopleSearchByName(ctx, p)
	if err != nil {
		return PeoplePage{}, fmt.Errorf("search people of community %d: %w", communityID, err)
	}
	var page PeoplePage
	for i, r := range rows {
		if i == limit {
			prev := rows[limit-1]
			page.Next = encodeCursor("n", lo, strconv.FormatInt(prev.IdentityID, 10), prev.MatchName)
			break
		}
		page.People = append(page.People, PersonSummary{ID: r.IdentityID, DisplayName: r.DisplayName, PrimaryPlatform: r.PrimaryPlatform,
			Reputation: int(r.Reputation), Balance: r.Balance, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen})
	}
	return page, nil
}

// withAccounts fills in the accounts of the people listed, in one query.
func (s *Service) withAccounts(ctx context.Context, q *db.Queries, people []PersonSummary) error {
	if len(people) == 0 {
		return nil
	}
	ids := make([]int64, len(people))
	at := make(map[int64]int, len(people))
	for i, p := range people {
		ids[i], at[p.ID] = p.ID, i
	}
	rows, err := q.PeopleAccounts(ctx, ids)
	if err != nil {
		return fmt.Errorf("read the accounts of %d people: %w", len(ids), err)
	}
	for _, a := range rows {
		p := &people[at[a.IdentityID]]
		p.Accounts = append(p.Accounts, personAccount(a))
		if p.DisplayName == "" {
			p.DisplayName = a.UserName
		}
	}
	return nil
}

func personAccount(a db.IdentityAccount) PersonAccount {
	return PersonAccount{Account: Account{Platform: a.Platform, ID: a.AccountID, Name: a.UserName}, LinkedAt: a.LinkedAt, LinkedBy: a.LinkedBy}
}

// prefixEnd is the least string, in byte order, above every string that
// starts with prefix: its last character, plus one.
func prefixEnd(prefix string) string {
	r, size := utf8.DecodeLastRuneInString(prefix)
	next := r + 1
	if next == 0xD800 { // skip the surrogates, which UTF-8 cannot encode
		next = 0xE000
	}
	if r == utf8.MaxRune || r == utf8.RuneError && size <= 1 {
		return prefix + string(utf8.MaxRune) + string(utf8.MaxRune)
	}
	return prefix[:len(prefix)-size] + string(next)
}

// A cursor is the kind of list and the last row's keys, joined by NUL
// (which no name holds) and encoded for URLs.
func encodeCursor(kind string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
}

func decodeCursor(c, kind string, n int) ([]string, error) {
	if len(c) > 2048 {
		return nil, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !utf8.Valid(raw) {
		return nil, ErrBadCursor
	}
	parts := strings.SplitN(string(raw), "\x00", n+1)
	if len(parts) != n+1 || parts[0] != kind {
		return nil, ErrBadCursor
	}
	return parts[1:], nil
}
