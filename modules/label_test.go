package modules_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// The label commands, through a real router and the labels service.
func TestLabelCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	ls := labels.New(labels.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix})
	logger := slog.New(slog.DiscardHandler)
	rt := router.New(router.Config{Modules: append(modules.All(), modules.Labelling(ls)...), Pool: pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "Ducks"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Very Loyal", "Artist"} {
		if _, err := ls.Create(ctx, audit.Actor{}, c.ID, labels.Input{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	q := db.New(pool)
	alice, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: "twitch", AccountID: "1", UserName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: "discord", AccountID: "2", UserName: "bob"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	say := func(roles []string, text string) string {
		t.Helper()
		n++
		ev := router.Event{ID: fmt.Sprintf("e%d", n), Platform: router.Twitch, Server: "duckchan", Channel: "c", Kind: router.ChatMessage,
			User: router.User{ID: "mod1", Name: "moddy", Roles: roles}, Text: text}
		res, err := rt.Handle(ctx, ev, router.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range res.Responses {
			out = append(out, r.Reply)
		}
		return strings.Join(out, " | ")
	}
	mod := []string{router.BadgeModerator}
	cases := []struct {
		roles      []string
		text, want string
	}{
		{mod, "!label add @alice very loyal", "alice now has: Very Loyal."},
		{mod, "!label add discord:bob Artist", "bob now has: Artist."},
		{mod, "!labels alice", "alice has: Very Loyal."},
		{mod, "!label remove alice Very Loyal", "alice now has: no labels."},
		{mod, "!label add alice Nope", `no label "Nope"`},
		{mod, "!label add nobody Artist", "I do not know nobody on twitch"},
		{mod, "!label add myspace:bob Artist", `"myspace" is not twitch`},
		{mod, "!label give alice Artist", "usage: !label add|remove <user> <label>"},
		{mod, "!labels", "usage: !labels <user>"},
		{nil, "!label add alice Artist", ""}, // not a moderator: ignored, and alice stays unlabelled (below)
	}
	for _, tc := range cases {
		if got := say(tc.roles, tc.text); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.text, got, tc.want)
		}
	}
	have, err := ls.Of(ctx, c.ID, alice.IdentityID)
	if err != nil || len(have) != 0 {
		t.Fatalf("alice has %v, %v", have, err)
	}
	var entries int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE community_id = $1 AND action LIKE 'person_label_%' AND actor_name LIKE 'twitch user moddy%'", c.ID).Scan(&entries); err != nil || entries != 3 {
		t.Fatalf("%d audit entries from chat, want 3 (%v)", entries, err)
	}
}
