package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
)

type hubFixture struct {
	t    *testing.T
	pool *pgxpool.Pool
	ids  *identity.Service
}

func newHubFixture(t *testing.T) *hubFixture {
	t.Helper()
	pool := dbtest.Pool(t)
	return &hubFixture{t: t, pool: pool, ids: identity.New(pool, nil, nil)}
}

func (f *hubFixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (f *hubFixture) user(email string) int64 {
	return f.id("INSERT INTO users (email) VALUES ($1) RETURNING id", email)
}

func (f *hubFixture) community(slug string) int64 {
	return f.id("INSERT INTO communities (slug, name) VALUES ($1, $1) RETURNING id", slug)
}

func (f *hubFixture) award(cid int64, acc identity.Account, n int64) int64 {
	f.t.Helper()
	bal, err := db.New(f.pool).PointsAdd(context.Background(), db.PointsAddParams{Platform: acc.Platform, UserID: acc.ID, UserName: acc.Name,
		CommunityID: cid, Delta: n, Reason: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return bal
}

func (f *hubFixture) balance(cid int64, acc identity.Account) int64 {
	return f.id(`SELECT coalesce((SELECT b.balance FROM points_balances b JOIN identity_accounts a ON a.identity_id = b.identity_id
		WHERE b.community_id = $1 AND a.platform = $2 AND a.account_id = $3), 0)`, cid, acc.Platform, acc.ID)
}

func (f *hubFixture) identityOf(acc identity.Account) int64 {
	return f.id("SELECT identity_id FROM identity_accounts WHERE platform = $1 AND account_id = $2", acc.Platform, acc.ID)
}

var (
	duckTwitch  = identity.Account{Platform: identity.Twitch, ID: "200", Name: "duckchan"}
	duckDiscord = identity.Account{Platform: identity.Discord, ID: "80351110224678912", Name: "duck"}
	duckSlack   = identity.Account{Platform: identity.Slack, ID: "U0DUCK", Name: "Duck"}
)

func TestLinkHubJoinsAccountsAndTheirPoints(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	ctx := context.Background()
	uid := f.user("duck@example.com")
	cid := f.community("ducks")
	other := f.community("geese")
	actor := audit.Actor{UserID: uid, Email: "duck@example.com"}

	f.award(cid, duckTwitch, 30)
	f.award(cid, duckDiscord, 12)
	f.award(other, duckDiscord, 5)

	l1, err := f.ids.LinkHub(ctx, actor, uid, duckTwitch)
	if err != nil || l1.Already {
		t.Fatalf("link twitch: %+v, %v", l1, err)
	}
	l2, err := f.ids.LinkHub(ctx, actor, uid, duckDiscord)
	if err != nil {
		t.Fatalf("link discord: %v", err)
	}
	if l2.Into != l1.Into {
		t.Fatalf("the second link went to identity %d, the first to %d: want the user's one identity", l2.Into, l1.Into)
	}
	if got := f.balance(cid, duckTwitch); got != 42 {
		t.Errorf("balance in ducks = %d, want 30 + 12", got)
	}
	if got := f.balance(cid, duckDiscord); got != 42 {
		t.Errorf("balance in ducks read through discord = %d, want the same 42", got)
	}
	if got := f.balance(other, duckTwitch); got != 5 {
		t.Errorf("balance in geese = %d, want 5 (followed discord)", got)
	}
	if n := f.id("SELECT count(*) FROM points_balances WHERE community_id = $1", cid); n != 1 {
		t.Errorf("%d balance rows in ducks, want one", n)
	}
	if n := f.id("SELECT count(*) FROM points_ledger WHERE community_id = $1 AND reason LIKE 'merged from discord duck'", cid); n != 1 {
		t.Errorf("%d ledger rows say the merge, want 1", n)
	}
	if n := f.id("SELECT count(*) FROM identities WHERE user_id = $1", uid); n != 1 {
		t.Errorf("the user has %d identities, want 1", n)
	}

	// Linking again changes nothing.
	again, err := f.ids.LinkHub(ctx, actor, uid, duckTwitch)
	if err != nil || !again.Already || again.Into != l1.Into {
		t.Fatalf("link twitch again: %+v, %v; want already linked to %d", again, err, l1.Into)
	}

	links, err := f.ids.HubLinks(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, l := range links {
		if l.LinkedAt.IsZero() || l.LinkedBy != "oauth" {
			t.Errorf("link %+v: want a time and oauth", l)
		}
		got = append(got, l.Platform+" "+l.Name)
	}
	if diff := cmp.Diff([]string{"discord duck", "twitch duckchan"}, got); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	if n := f.id("SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2", audit.AccountLinked, uid); n != 2 {
		t.Errorf("%d link audit entries, want 2", n)
	}
}

func TestLinkHubRefusesAnotherHubUsersAccount(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	cid := f.community("ducks")
	f.award(cid, duckTwitch, 7)
	if _, err := f.ids.LinkHub(ctx, audit.Actor{UserID: alice}, alice, duckTwitch); err != nil {
		t.Fatal(err)
	}
	before := f.identityOf(duckTwitch)
	_, err := f.ids.LinkHub(ctx, audit.Actor{UserID: bob}, bob, duckTwitch)
	if !errors.Is(err, identity.ErrOtherHubUser) {
		t.Fatalf("bob links alice's account: %v, want ErrOtherHubUser", err)
	}
	p := problem.As(err)
	if p == nil || p.Code != problem.Conflict {
		t.Fatalf("error %v is not a conflict problem", err)
	}
	for _, leak := range []string{"alice", "@"} {
		if strings.Contains(p.Message, leak) {
			t.Errorf("the message %q reveals %q", p.Message, leak)
		}
	}
	if after := f.identityOf(duckTwitch); after != before || f.balance(cid, duckTwitch) != 7 {
		t.Errorf("the account moved (%d → %d) or its balance changed", before, after)
	}
	if n := f.id("SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2", audit.AccountLinked, bob); n != 0 {
		t.Errorf("a refused link was audited %d times", n)
	}
}

func TestLinkHubRefusesSecondAccountOfAPlatform(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	ctx := context.Background()
	uid := f.user("duck@example.com")
	if _, err := f.ids.LinkHub(ctx, audit.Actor{UserID: uid}, uid, duckSlack); err != nil {
		t.Fatal(err)
	}
	second := identity.Account{Platform: identity.Slack, ID: "U0OTHER", Name: "Other"}
	if _, err := f.ids.LinkHub(ctx, audit.Actor{UserID: uid}, uid, second); !errors.Is(err, identity.ErrSamePlatform) {
		t.Fatalf("second slack account: %v, want ErrSamePlatform", err)
	}
}

func TestLinkHubRefusesBadAccounts(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	uid := f.user("duck@example.com")
	cases := []struct {
		name string
		acc  identity.Account
	}{
		{"unknown platform", identity.Account{Platform: "irc", ID: "1"}},
		{"no id", identity.Account{Platform: identity.Twitch}},
		{"id too long", identity.Account{Platform: identity.Twitch, ID: string(make([]byte, 101))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.ids.LinkHub(context.Background(), audit.Actor{UserID: uid}, uid, c.acc)
			if p := problem.As(err); p == nil || p.Code != problem.Invalid {
				t.Fatalf("got %v, want an Invalid problem", err)
			}
		})
	}
}

func TestUnlinkHubKeepsPointsWithTheUser(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	ctx := context.Background()
	uid, other := f.user("duck@example.com"), f.user("goose@example.com")
	cid := f.community("ducks")
	f.award(cid, duckTwitch, 10)
	f.award(cid, duckDiscord, 5)
	for _, a := range []identity.Account{duckTwitch, duckDiscord} {
		if _, err := f.ids.LinkHub(ctx, audit.Actor{UserID: uid}, uid, a); err != nil {
			t.Fatal(err)
		}
	}
	mine := f.identityOf(duckTwitch)

	// Someone else cannot unlink it; nor can a wrong account id.
	if _, err := f.ids.UnlinkHub(ctx, audit.Actor{UserID: other}, other, identity.Discord, duckDiscord.ID); !errors.Is(err, identity.ErrNoHubLink) {
		t.Fatalf("another user unlinks: %v, want ErrNoHubLink", err)
	}
	if _, err := f.ids.UnlinkHub(ctx, audit.Actor{UserID: uid}, uid, identity.Discord, "999"); !errors.Is(err, identity.ErrNoHubLink) {
		t.Fatalf("unknown account: %v, want ErrNoHubLink", err)
	}

	acc, err := f.ids.UnlinkHub(ctx, audit.Actor{UserID: uid}, uid, identity.Discord, duckDiscord.ID)
	if err != nil || acc.Name != "duck" {
		t.Fatalf("unlink: %+v, %v", acc, err)
	}
	if got := f.identityOf(duckDiscord); got == mine {
		t.Fatal("discord is still in the user's identity")
	}
	if got := f.balance(cid, duckTwitch); got != 15 {
		t.Errorf("the user's balance = %d, want 15 kept", got)
	}
	if got := f.balance(cid, duckDiscord); got != 0 {
		t.Errorf("the unlinked account's balance = %d, want a fresh start", got)
	}
	// The last account may go too: the user keeps the identity and its points.
	if _, err := f.ids.UnlinkHub(ctx, audit.Actor{UserID: uid}, uid, identity.Twitch, duckTwitch.ID); err != nil {
		t.Fatalf("unlink the last account: %v", err)
	}
	if n := f.id("SELECT balance FROM points_balances WHERE identity_id = $1 AND community_id = $2", mine, cid); n != 15 {
		t.Errorf("the user's identity holds %d points, want 15", n)
	}
	links, err := f.ids.HubLinks(ctx, uid)
	if err != nil || len(links) != 0 {
		t.Fatalf("links after unlinking all: %v, %v", links, err)
	}
	if n := f.id("SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2", audit.AccountUnlinked, uid); n != 2 {
		t.Errorf("%d unlink audit entries, want 2", n)
	}
}
