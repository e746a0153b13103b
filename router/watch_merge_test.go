package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// Watch ticks that run while a viewer's account is merged into another
// identity neither lose nor double a point: the survivor ends with both
// balances plus every tick's award, the absorbed identity with nothing, and
// every identity's ledger sums to its balance.
func TestAwardWatchWhileAccountsMerge(t *testing.T) {
	t.Parallel()
	e := watchEnv(t)
	ctx := context.Background()
	if err := e.s.SetViewerTracking(ctx, audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: 3}); err != nil {
		t.Fatal(err)
	}
	q := db.New(e.pool)
	if _, err := q.PointsAdd(ctx, db.PointsAddParams{CommunityID: e.cid, Platform: router.Discord, UserID: "d-alice", UserName: "Alice", Delta: 100, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	viewers := []string{"alice"}
	for i := range 300 {
		viewers = append(viewers, fmt.Sprintf("viewer%d", i))
	}
	noon := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if a, err := e.watchTick(noon, 5*time.Minute, "a", viewers...); err != nil || !a.Awarded {
		t.Fatalf("first tick: %+v %v", a, err)
	}
	identityOf := func(platform, account string) int64 {
		var id int64
		if err := e.pool.QueryRow(ctx, "SELECT identity_id FROM identity_accounts WHERE platform = $1 AND account_id = $2", platform, account).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	twitch, discord := identityOf(router.Twitch, "id-alice"), identityOf(router.Discord, "d-alice")

	const ticks = 12
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= ticks; i++ {
			a, err := e.watchTick(noon.Add(time.Duration(i)*5*time.Minute), 5*time.Minute, "a", viewers...)
			if err == nil && !a.Awarded {
				err = fmt.Errorf("tick %d awarded nothing", i)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	time.Sleep(20 * time.Millisecond) // let a few ticks start
	if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		_, err := identity.Merge(ctx, tx, discord, twitch, "chat")
		return err
	}); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var survivor, absorbed int64
	if err := e.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT balance FROM points_balances WHERE community_id = $1 AND identity_id = $2), 0),
		coalesce((SELECT balance FROM points_balances WHERE community_id = $1 AND identity_id = $3), 0)`, e.cid, discord, twitch).Scan(&survivor, &absorbed); err != nil {
		t.Fatal(err)
	}
	if want := int64(100 + 3*(ticks+1)); survivor != want || absorbed != 0 {
		t.Errorf("survivor has %d and the absorbed identity %d, want %d and 0", survivor, absorbed, want)
	}
	if got := identityOf(router.Twitch, "id-alice"); got != discord {
		t.Errorf("alice's Twitch account belongs to identity %d, want the survivor %d", got, discord)
	}
	if n := e.count(`SELECT count(*) FROM (SELECT l.identity_id FROM points_ledger l
		LEFT JOIN points_balances b ON b.community_id = l.community_id AND b.identity_id = l.identity_id
		WHERE l.community_id = ` + fmt.Sprint(e.cid) + ` GROUP BY l.identity_id, b.balance HAVING sum(l.delta) <> coalesce(b.balance, 0)) x`); n != 0 {
		t.Errorf("%d identities whose ledger does not sum to their balance", n)
	}
	if n := e.count("SELECT count(*) FROM points_balances WHERE community_id = " + fmt.Sprint(e.cid) + " AND balance = 3 * 13"); n != 300 {
		t.Errorf("%d viewers with 13 ticks' points, want 300", n)
	}
}

// A viewer who renamed shows the new name after the next tick, and one whose
// balance is at its limit gets the watch time but no points (and no ledger
// row), while the others are awarded.
func TestAwardWatchRenameAndLimit(t *testing.T) {
	t.Parallel()
	e := watchEnv(t)
	ctx := context.Background()
	if err := e.s.SetViewerTracking(ctx, audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: 2}); err != nil {
		t.Fatal(err)
	}
	const max = 9007199254740991
	if _, err := db.New(e.pool).PointsAdd(ctx, db.PointsAddParams{CommunityID: e.cid, Platform: router.Twitch, UserID: "id-rich", UserName: "rich", Delta: max, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if _, err := e.watchTick(noon, 5*time.Minute, "a", "alice", "rich"); err != nil {
		t.Fatal(err)
	}
	tick := router.WatchTick{CommunityID: e.cid, Platform: router.Twitch, Server: "duckchan", Lease: platform.TwitchChannelLeases + "duckchan",
		Holder: "a", Start: noon.Add(5 * time.Minute), Every: 5 * time.Minute,
		Viewers: []router.User{{ID: "id-alice", Name: "AliceRenamed"}, {ID: "id-rich", Name: "rich"}}}
	if _, err := e.r.AwardWatch(ctx, tick); err != nil {
		t.Fatal(err)
	}
	got := e.standings(router.ByWatchTime)
	want := [][3]any{{"AliceRenamed", int64(4), 10 * time.Minute}, {"rich", int64(max), 10 * time.Minute}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("standings %v, want %v", got, want)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE user_id = 'id-rich' AND reason LIKE 'watch%'"); n != 0 {
		t.Errorf("%d watch ledger rows for the viewer at the limit, want 0", n)
	}
}
