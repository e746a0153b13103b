package audit_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

func TestRecordStoresBeforeAndAfter(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		Prefix string `json:"prefix"`
	}
	var none *state
	entries := []audit.Entry{
		{CommunityID: c.ID, Action: audit.PrefixChanged, Target: "command prefix", Before: state{"!"}, After: &state{"?"}},
		{CommunityID: c.ID, Action: audit.CommunitySettings, Target: "Ducks"},        // an entry of before: no states
		{CommunityID: c.ID, Action: audit.CommandDeleted, Target: "x", Before: none}, // a nil pointer is no state
	}
	for _, e := range entries {
		if err := audit.Record(ctx, pool, audit.Actor{Name: "twitch user alice (id 1)"}, e); err != nil {
			t.Fatal(err)
		}
	}
	items, err := audit.Log{Pool: pool}.ListCommunity(ctx, c.ID, audit.Filter{})
	if err != nil || len(items) != 3 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	if it := items[2]; string(it.Before) != `{"prefix": "!"}` || string(it.After) != `{"prefix": "?"}` || it.ActorName != "twitch user alice (id 1)" {
		t.Errorf("prefix entry: before %s, after %s, by %q", it.Before, it.After, it.ActorName)
	}
	for _, it := range items[:2] {
		if it.Before != nil || it.After != nil || len(it.Changes()) != 0 {
			t.Errorf("%s: before %s, after %s, want none", it.Action, it.Before, it.After)
		}
	}
	if n := len(mustList(t, pool, c.ID, audit.Filter{Actor: "alice"})); n != 3 {
		t.Errorf("the actor filter finds %d entries by the chat user's name, want 3", n)
	}
	if n := len(mustList(t, pool, c.ID, audit.Filter{Actor: "bob"})); n != 0 {
		t.Errorf("the actor filter finds %d entries of nobody", n)
	}
}

func TestRecordThatCannotMarshalRecordsNothing(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	// The change and its record share a transaction: a record that fails undoes the change.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := db.New(tx).CommunitySetPrefix(ctx, db.CommunitySetPrefixParams{ID: c.ID, CommandPrefix: "?"}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{}, audit.Entry{CommunityID: c.ID, Action: audit.PrefixChanged, After: map[string]any{"f": func() {}}})
	})
	if err == nil {
		t.Fatal("a state that is not JSON was recorded")
	}
	got, err := db.New(pool).CommunityPrefixForUpdate(ctx, c.ID)
	if err != nil || got != "!" {
		t.Errorf("prefix %q (%v): the change stayed without its record", got, err)
	}
	if n := len(mustList(t, pool, c.ID, audit.Filter{})); n != 0 {
		t.Errorf("%d entries recorded", n)
	}
}

func mustList(t *testing.T, pool *pgxpool.Pool, cid int64, f audit.Filter) []audit.Item {
	t.Helper()
	items, err := audit.Log{Pool: pool}.ListCommunity(context.Background(), cid, f)
	if err != nil {
		t.Fatal(err)
	}
	return items
}
