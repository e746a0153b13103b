package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Quote is one saved quote.
type Quote struct {
	Number int32
	Text   string
}

var errNoQuote = problem.New(problem.NotFound, "no such quote.")

func randomQuote(ctx context.Context, q *db.Queries, communityID int64) (Quote, error) {
	row, err := q.QuoteRandom(ctx, communityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Quote{}, problem.New(problem.NotFound, "there are no quotes yet.")
	}
	if err != nil {
		return Quote{}, fmt.Errorf("random quote: %w", err)
	}
	return Quote{Number: row.Number, Text: row.Text}, nil
}

func quote(ctx context.Context, q *db.Queries, communityID int64, n int) (Quote, error) {
	row, err := q.QuoteGet(ctx, db.QuoteGetParams{CommunityID: communityID, Number: int32(n)})
	if errors.Is(err, pgx.ErrNoRows) {
		return Quote{}, errNoQuote
	}
	if err != nil {
		return Quote{}, fmt.Errorf("quote %d: %w", n, err)
	}
	return Quote{Number: row.Number, Text: row.Text}, nil
}

// quoteState is a quote as the audit log records it.
type quoteState struct {
	Number  int32  `json:"number"`
	Text    string `json:"text"`
	AddedBy string `json:"added_by"`
}

// addQuote stores a quote and its audit record; tx is a transaction.
func addQuote(ctx context.Context, tx db.DBTX, by audit.Actor, communityID int64, text, addedBy string) (int32, error) {
	n, err := db.New(tx).QuoteAdd(ctx, db.QuoteAddParams{CommunityID: communityID, Text: text, AddedBy: addedBy})
	if err != nil {
		return 0, fmt.Errorf("add quote: %w", err)
	}
	if err := audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.QuoteAdded, Target: fmt.Sprintf("quote #%d", n),
		After: quoteState{Number: n, Text: text, AddedBy: addedBy}}); err != nil {
		return 0, err
	}
	return n, nil
}

// deleteQuote removes a quote and records it; tx is a transaction.
func deleteQuote(ctx context.Context, tx db.DBTX, by audit.Actor, communityID int64, n int) error {
	q, err := db.New(tx).QuoteRemove(ctx, db.QuoteRemoveParams{CommunityID: communityID, Number: int32(n)})
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoQuote
	}
	if err != nil {
		return fmt.Errorf("delete quote %d: %w", n, err)
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.QuoteDeleted, Target: fmt.Sprintf("quote #%d", n),
		Before: quoteState{Number: q.Number, Text: q.Text, AddedBy: q.AddedBy}})
}

type counterState struct {
	Counter int64 `json:"counter"`
}

// setCounter sets a command's counter and records it; tx is a transaction.
// The cached snapshots show the old one until the caller invalidates them.
func setCounter(ctx context.Context, tx db.DBTX, by audit.Actor, communityID, id, n int64) error {
	q := db.New(tx)
	old, err := q.CommandGetForUpdate(ctx, db.CommandGetForUpdateParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrCommandNotFound
	}
	if err != nil {
		return fmt.Errorf("set counter: %w", err)
	}
	if _, err := q.CommandSetCounter(ctx, db.CommandSetCounterParams{CommunityID: communityID, ID: id, Counter: n}); err != nil {
		return fmt.Errorf("set counter: %w", err)
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.CounterSet, Target: "command " + old.Name,
		Before: counterState{old.Counter}, After: counterState{n}})
}

// KnownUser is a chat user the community has seen earn points.
type KnownUser struct {
	Platform, UserID, Name string
}

func findUser(ctx context.Context, q *db.Queries, communityID int64, platform, name string) (KnownUser, error) {
	row, err := q.PointsBalanceFindByName(ctx, db.PointsBalanceFindByNameParams{CommunityID: communityID, Platform: platform, Name: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return KnownUser{}, problem.New(problem.NotFound, "I have not seen %s here yet.", name)
	}
	if err != nil {
		return KnownUser{}, fmt.Errorf("find user %q: %w", name, err)
	}
	return KnownUser{Platform: row.Platform, UserID: row.UserID, Name: row.UserName}, nil
}

// Entity is a platform server linked to a community.
type Entity struct {
	ID       int64
	Platform string
	Server   string
	Name     string
}

// entityTarget names a linked server in the audit log: "twitch duckchan (Duck channel)".
func entityTarget(platform, server, name string) string {
	if name == "" || name == server {
		return platform + " " + server
	}
	return fmt.Sprintf("%s %s (%s)", platform, server, name)
}
