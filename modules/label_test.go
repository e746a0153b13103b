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
	"github.com/waddle/waddle/identity"
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
	limiter := ratelimit.New(rdb, prefix, logger)
	ids := identity.NewService(identity.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: limiter, Logger: logger})
	rt := router.New(router.Config{Modules: append(modules.All(), modules.Labelling(ls)...), Identities: ids, Seen: ids, Pool: pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: limiter, Logger: logger})
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
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, c.ID, router.Discord, "duckguild", "Ducks"); err != nil {
		t.Fatal(err)
	}
	other, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "geese", Name: "Geese"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, other.ID, router.Twitch, "goosechan", "Geese"); err != nil {
		t.Fatal(err)
	}
	n := 0
	speak := func(platform, server, userID, name string, roles []string, text string) string {
		t.Helper()
		n++
		ev := router.Event{ID: fmt.Sprintf("e%d", n), Platform: platform, Server: server, Channel: "c", Kind: router.ChatMessage,
			User: router.User{ID: userID, Name: name, Roles: roles}, Text: text}
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
	say := func(roles []string, text string) string {
		t.Helper()
		return speak(router.Twitch, "duckchan", "mod1", "moddy", roles, text)
	}
	// Alice and bob chat here; carol chats only in the other community.
	speak(router.Twitch, "duckchan", "1", "alice", nil, "hello")
	speak(router.Discord, "duckguild", "2", "bob", nil, "hi")
	speak(router.Twitch, "goosechan", "3", "carol", nil, "honk")
	if err := ids.FlushSeen(ctx); err != nil {
		t.Fatal(err)
	}
	var alice int64
	if err := pool.QueryRow(ctx, "SELECT identity_id FROM identity_accounts WHERE platform = 'twitch' AND account_id = '1'").Scan(&alice); err != nil {
		t.Fatal(err)
	}
	people := func() int {
		t.Helper()
		var k int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM community_people WHERE community_id = $1", c.ID).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	before := people()
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
		{mod, "!label add nobody Artist", "no one called nobody has been seen here on twitch."},
		// carol exists, but only the other community has met her: the
		// same answer as for no one at all, for both commands.
		{mod, "!label add carol Artist", "no one called carol has been seen here on twitch."},
		{mod, "!labels carol", "no one called carol has been seen here on twitch."},
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
	if after := people(); after != before {
		t.Errorf("the community has %d people after labelling, want %d (labelling adds no one)", after, before)
	}
	have, err := ls.Of(ctx, c.ID, alice)
	if err != nil || len(have) != 0 {
		t.Fatalf("alice has %v, %v", have, err)
	}
	var entries int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE community_id = $1 AND action LIKE 'person_label_%' AND actor_name LIKE 'twitch user moddy%'", c.ID).Scan(&entries); err != nil || entries != 3 {
		t.Fatalf("%d audit entries from chat, want 3 (%v)", entries, err)
	}
}
