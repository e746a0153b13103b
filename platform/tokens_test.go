package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/secret"
)

func testBox(t *testing.T) *secret.Box {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	box, err := secret.New(base64.StdEncoding.EncodeToString(k))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func TestTokensSealedAndTiedToLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	q := db.New(pool)
	c, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := q.EntityAdd(ctx, db.EntityAddParams{CommunityID: c.ID, Platform: "twitch", Server: "duckchan"})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokens(pool, testBox(t))
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	tok := Token{Access: "access-secret-1", Refresh: "refresh-secret-1", Scopes: []string{"chat:read"}, Expires: exp, AccountID: "42", AccountLogin: "duckchan"}
	if err := tokens.Save(ctx, "twitch", "duckchan", tok); err != nil {
		t.Fatal(err)
	}
	got, err := tokens.Get(ctx, "twitch", "duckchan")
	if err != nil || got.Access != tok.Access || got.Refresh != tok.Refresh || !got.Expires.Equal(exp) || got.AccountID != "42" {
		t.Fatalf("got %+v, %v", got, err)
	}
	row, _ := q.TokenGet(ctx, db.TokenGetParams{Platform: "twitch", Subject: "duckchan"})
	if strings.Contains(row.AccessSealed+row.RefreshSealed, "secret") {
		t.Error("the token is stored in the clear")
	}
	if got.Expiring(time.Now(), 30*time.Minute) || !got.Expiring(time.Now(), 2*time.Hour) {
		t.Error("Expiring is wrong")
	}
	// A server no community linked cannot hold a token.
	if err := tokens.Save(ctx, "twitch", "stranger", tok); err == nil {
		t.Error("saved a token for an unlinked channel")
	}
	// The bot's own account needs no link.
	if err := tokens.Save(ctx, "twitch", BotSubject, tok); err != nil {
		t.Fatal(err)
	}
	// Another key cannot open them.
	if _, err := NewTokens(pool, testBox(t)).Get(ctx, "twitch", "duckchan"); err == nil {
		t.Error("opened with the wrong key")
	}
	// Unlinking deletes the channel's token, not the bot's.
	if _, err := q.EntityRemove(ctx, db.EntityRemoveParams{CommunityID: c.ID, ID: e.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Get(ctx, "twitch", "duckchan"); !errors.Is(err, ErrNoToken) {
		t.Errorf("token after unlink: %v, want ErrNoToken", err)
	}
	if _, err := tokens.Get(ctx, "twitch", BotSubject); err != nil {
		t.Errorf("bot token: %v", err)
	}
	// Without a key nothing is stored.
	noKey, _ := secret.New("")
	if err := NewTokens(pool, noKey).Save(ctx, "twitch", BotSubject, tok); !errors.Is(err, secret.ErrNoKey) {
		t.Errorf("save without a key: %v, want secret.ErrNoKey", err)
	}
}

func TestLinksAvailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	q := db.New(pool)
	c, _ := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	links := NewLinks(pool)
	for _, g := range []struct{ id, name string }{{"111", "Duck Pond"}, {"222", "Goose Lake"}} {
		if err := links.Seen(ctx, "discord", g.id, g.name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.EntityAdd(ctx, db.EntityAddParams{CommunityID: c.ID, Platform: "discord", Server: "111", Name: "Duck Pond"}); err != nil {
		t.Fatal(err)
	}
	av, err := links.Available(ctx, "discord")
	if err != nil || len(av) != 1 || av[0].Server != "222" || av[0].Name != "Goose Lake" {
		t.Fatalf("available %+v, %v: want only the unlinked guild", av, err)
	}
	linked, err := links.List(ctx, "discord")
	if err != nil || len(linked) != 1 || linked[0].CommunityID != c.ID || linked[0].Server != "111" {
		t.Fatalf("linked %+v, %v", linked, err)
	}
	if err := links.Gone(ctx, "discord", "222"); err != nil {
		t.Fatal(err)
	}
	if av, _ := links.Available(ctx, "discord"); len(av) != 0 {
		t.Errorf("available after the bot left: %+v", av)
	}
}

// TestTokenRefreshOneAtATime: instances refreshing one token at the same
// moment refresh it once (a refresh token may be good only once); the
// others get the new token. A failed refresh keeps the stored token.
func TestTokenRefreshOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	q := db.New(pool)
	c, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EntityAdd(ctx, db.EntityAddParams{CommunityID: c.ID, Platform: "slack", Server: "T1"}); err != nil {
		t.Fatal(err)
	}
	box := testBox(t)
	first := NewTokens(pool, box)
	if err := first.Save(ctx, "slack", "T1", Token{Access: "old", Refresh: "r0", Expires: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	stale := func(tok Token) bool { return tok.Expiring(time.Now(), time.Hour) }
	var mu sync.Mutex
	refreshes := 0
	refresh := func(_ context.Context, old Token) (Token, error) {
		mu.Lock()
		defer mu.Unlock()
		refreshes++
		return Token{Access: "new-" + old.Refresh, Refresh: "r1", Expires: time.Now().Add(12 * time.Hour)}, nil
	}
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		tokens := first
		if i%2 == 1 {
			tokens = NewTokens(pool, box) // another instance's store
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := tokens.Refresh(ctx, "slack", "T1", stale, refresh)
			if err != nil {
				t.Errorf("refresh %d: %v", i, err)
			}
			got[i] = tok.Access
		}()
	}
	wg.Wait()
	if refreshes != 1 {
		t.Errorf("%d refreshes, want 1", refreshes)
	}
	for i, a := range got {
		if a != "new-r0" {
			t.Errorf("caller %d got %q, want the one new token", i, a)
		}
	}
	if tok, _ := first.Get(ctx, "slack", "T1"); tok.Access != "new-r0" || tok.Refresh != "r1" {
		t.Errorf("stored %+v, want the refreshed token", tok)
	}

	boom := errors.New("refused")
	if _, err := first.Refresh(ctx, "slack", "T1", func(Token) bool { return true },
		func(context.Context, Token) (Token, error) { return Token{}, boom }); !errors.Is(err, boom) {
		t.Errorf("failed refresh: %v, want its error", err)
	}
	if tok, _ := first.Get(ctx, "slack", "T1"); tok.Access != "new-r0" {
		t.Errorf("after a failed refresh the token is %q, want it kept", tok.Access)
	}
	if _, err := first.Refresh(ctx, "slack", "T9", stale, refresh); !errors.Is(err, ErrNoToken) {
		t.Errorf("refresh of no token: %v, want ErrNoToken", err)
	}
}
