package importer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/importer"
)

// binder passes identity's sightings to the importer, as cmd/waddle does.
func binder(s *importer.Service) func(context.Context, []identity.Sighting) error {
	return func(ctx context.Context, seen []identity.Sighting) error {
		for _, x := range seen {
			if err := s.BindPending(ctx, x.Platform, []importer.Seen{{CommunityID: x.CommunityID, Login: x.Name, AccountID: x.AccountID, Name: x.Name}}); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestUnresolvedBoundOnFirstChat keeps ghost's balance pending until ghost
// chats in the community (through identity's sightings), then credits it
// once, with the import's reason; a link from the hub binds in every
// community.
func TestUnresolvedBoundOnFirstChat(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ids := identity.NewService(identity.Config{Pool: e.pool, OnSeen: binder(e.s), FlushEvery: time.Hour})
	im := e.apply(e.create(sample()).ID, importer.Choices{})
	if e.balance(e.cid, "9009") != 0 {
		t.Fatal("ghost has points before being seen")
	}
	// ghost chats in another community first: nothing is bound there.
	other := e.community("geese", "goosechan")
	ids.Seen(other, "twitch", "9009", "Ghost", time.Now())
	if err := ids.FlushSeen(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.balance(e.cid, "9009") != 0 || e.balance(other, "9009") != 0 {
		t.Fatal("bound in the wrong community")
	}
	ids.Seen(e.cid, "twitch", "9009", "Ghost", time.Now())
	if err := ids.FlushSeen(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(e.cid, "9009"); got != 77 {
		t.Errorf("ghost's balance after chatting = %d, want 77", got)
	}
	reason := "imported from StreamElements " + im.CreatedAt.UTC().Format("2006-01-02")
	if n := e.scalar("SELECT count(*) FROM points_ledger WHERE import_id = $1 AND reason = $2 AND user_id = '9009'", im.ID, reason); n != 1 {
		t.Errorf("ghost's ledger rows = %d, want 1", n)
	}
	if n := e.scalar("SELECT count(*) FROM pending_points WHERE login = 'ghost'"); n != 0 {
		t.Errorf("pending rows left = %d", n)
	}
	// Seen again: nothing more.
	ids.Seen(e.cid, "twitch", "9009", "ghost", time.Now())
	if err := ids.FlushSeen(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(e.cid, "9009"); got != 77 {
		t.Errorf("ghost's balance after chatting again = %d, want 77", got)
	}
	// Undo takes the bound balance back too.
	if err := e.s.Undo(e.ctx, audit.Actor{}, e.cid, im.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(e.cid, "9009"); got != 0 {
		t.Errorf("ghost's balance after undo = %d, want 0", got)
	}
}

// TestBoundOnHubLink binds a pending balance when its viewer links the
// account in the hub, in every community that waits for it.
func TestBoundOnHubLink(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ids := identity.NewService(identity.Config{Pool: e.pool, OnSeen: binder(e.s), FlushEvery: time.Hour})
	e.apply(e.create(sample()).ID, importer.Choices{})
	var uid int64
	if err := e.pool.QueryRow(e.ctx, "INSERT INTO users (email, password_hash) VALUES ('g@example.com', 'x') RETURNING id").Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.LinkHub(e.ctx, audit.Actor{}, uid, identity.Account{Platform: "twitch", ID: "9009", Name: "ghost"}); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(e.cid, "9009"); got != 77 {
		t.Errorf("ghost's balance after linking = %d, want 77", got)
	}
}

// TestConcurrentBinds binds one pending balance from many goroutines at
// once: it is credited exactly once.
func TestConcurrentBinds(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.apply(e.create(sample()).ID, importer.Choices{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			errs <- e.s.BindPending(e.ctx, "twitch", []importer.Seen{{CommunityID: e.cid, Login: "GHOST", AccountID: "9009", Name: "Ghost"}})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.balance(e.cid, "9009"); got != 77 {
		t.Errorf("ghost's balance after 8 binds at once = %d, want 77", got)
	}
	if n := e.scalar("SELECT count(*) FROM points_ledger WHERE user_id = '9009'"); n != 1 {
		t.Errorf("ledger rows = %d, want 1", n)
	}
}
