package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// ErrPersonNotFound: the community has never seen that person (or there is
// no such person); the same answer either way.
var ErrPersonNotFound = problem.New(problem.NotFound, "No such person in this community.")

// HistoryPageSize is how many ledger or history entries a page shows.
const HistoryPageSize = 20

// Person is a person as one community knows them.
type Person struct {
	PersonSummary
	HubUser bool // the person linked a hub account: the same identity in every community
}

// LedgerEntry is one change of a person's points.
type LedgerEntry struct {
	ID       int64
	Delta    int64
	Reason   string
	Platform string // the account that was credited or debited
	UserName string
	At       time.Time
}

// HistoryEntry is one moderation action on a person or change of their
// reputation.
type HistoryEntry struct {
	ID        int64
	Action    string // warn, timeout, ban, delete, adjust, merge
	Delta     int
	Reason    string
	Platform  string // the account moderated; "" for an adjustment in the hub
	AccountID string
	Actor     string // who adjusted it; "" for the bot
	At        time.Time
}

// Person is one person of a community, with their accounts.
func (s *Service) Person(ctx context.Context, communityID, identityID int64) (Person, error) {
	q := db.New(s.pool)
	r, err := q.PersonGet(ctx, db.PersonGetParams{CommunityID: communityID, IdentityID: identityID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Person{}, ErrPersonNotFound
	}
	if err != nil {
		return Person{}, fmt.Errorf("read person %d of community %d: %w", identityID, communityID, err)
	}
	p := []PersonSummary{{ID: r.IdentityID, DisplayName: r.DisplayName, PrimaryPlatform: r.PrimaryPlatform,
		Reputation: int(r.Reputation), Balance: r.Balance, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen}}
	if err := s.withAccounts(ctx, q, p); err != nil {
		return Person{}, err
	}
	return Person{PersonSummary: p[0], HubUser: r.UserID != nil}, nil
}

// PersonLedger is a page of a person's points ledger in a community, newest
// first, from before the entry id before (0: the newest); next is the
// cursor of the page after, 0 on the last. The person must be one of the
// community's.
func (s *Service) PersonLedger(ctx context.Context, communityID, identityID, before int64) (entries []LedgerEntry, next int64, err error) {
	if before < 0 {
		return nil, 0, problem.Invalidf("ledger_before", "The ledger cursor is an entry id.")
	}
	rows, err := db.New(s.pool).PersonLedger(ctx, db.PersonLedgerParams{CommunityID: communityID, IdentityID: identityID,
		BeforeID: before, Lim: HistoryPageSize + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("read the ledger of person %d: %w", identityID, err)
	}
	for i, r := range rows {
		if i == HistoryPageSize {
			next = rows[i-1].ID
			break
		}
		entries = append(entries, LedgerEntry{ID: r.ID, Delta: r.Delta, Reason: r.Reason, Platform: r.Platform, UserName: r.UserName, At: r.CreatedAt})
	}
	return entries, next, nil
}

// PersonHistory is a page of a person's moderation history in a community,
// newest first, paged as PersonLedger.
func (s *Service) PersonHistory(ctx context.Context, communityID, identityID, before int64) (entries []HistoryEntry, next int64, err error) {
	if before < 0 {
		return nil, 0, problem.Invalidf("history_before", "The history cursor is an entry id.")
	}
	rows, err := db.New(s.pool).PersonHistory(ctx, db.PersonHistoryParams{CommunityID: communityID, IdentityID: identityID,
		BeforeID: before, Lim: HistoryPageSize + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("read the history of person %d: %w", identityID, err)
	}
	for i, r := range rows {
		if i == HistoryPageSize {
			next = rows[i-1].ID
			break
		}
		actor := r.ActorName
		if actor == "" {
			actor = r.ActorEmail
		}
		entries = append(entries, HistoryEntry{ID: r.ID, Action: r.Action, Delta: int(r.Delta), Reason: r.Reason,
			Platform: r.Platform, AccountID: r.AccountID, Actor: actor, At: r.CreatedAt})
	}
	return entries, next, nil
}
