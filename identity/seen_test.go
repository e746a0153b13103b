package identity_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/identity"
)

// Sightings are kept in memory and written in one batch: the account's
// latest name, the community's first and last sight of the person; Run
// writes what is left when it stops.
func TestSeenWrittenInBatches(t *testing.T) {
	e := newEnv(t)
	ids := identity.NewService(identity.Config{Pool: e.pool, Logger: slog.New(slog.DiscardHandler), FlushEvery: time.Hour})
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ids.Seen(e.cid, "twitch", "t9", "Zed", t0.Add(time.Minute))
	ids.Seen(e.cid, "twitch", "t9", "zed_renamed", t0.Add(2*time.Minute))
	ids.Seen(e.cid, "twitch", "t9", "Zed", t0) // late, older: keeps the newer name
	ids.Seen(e.cid, "discord", "d9", "yan", t0)
	q := db.New(e.pool)
	if _, err := q.IdentityAccountGet(t.Context(), db.IdentityAccountGetParams{Platform: "twitch", AccountID: "t9"}); err == nil {
		t.Fatal("a sighting reached the database before a flush")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ids.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a, err := q.IdentityAccountGet(t.Context(), db.IdentityAccountGetParams{Platform: "twitch", AccountID: "t9"})
	if err != nil {
		t.Fatalf("the shutdown flush did not write the account: %v", err)
	}
	if a.UserName != "zed_renamed" {
		t.Errorf("name %q, want the latest, zed_renamed", a.UserName)
	}
	var first, last time.Time
	if err := e.pool.QueryRow(t.Context(), "SELECT first_seen, last_seen FROM community_people WHERE community_id = $1 AND identity_id = $2",
		e.cid, a.IdentityID).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if !first.Equal(t0) || !last.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("first/last seen %v / %v, want %v / %v", first, last, t0, t0.Add(2*time.Minute))
	}
	// A later batch moves last_seen on and keeps first_seen.
	ids.Seen(e.cid, "twitch", "t9", "zed_renamed", t0.Add(time.Hour))
	if err := ids.FlushSeen(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(t.Context(), "SELECT first_seen, last_seen FROM community_people WHERE community_id = $1 AND identity_id = $2",
		e.cid, a.IdentityID).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if !first.Equal(t0) || !last.Equal(t0.Add(time.Hour)) {
		t.Errorf("after a second batch: first/last seen %v / %v", first, last)
	}
	// A sighting in a community that no longer exists is dropped, not an error.
	ids.Seen(e.cid+1000, "twitch", "t9", "zed", t0)
	if err := ids.FlushSeen(t.Context()); err != nil {
		t.Errorf("flush with a gone community: %v", err)
	}
}
