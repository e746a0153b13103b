package identity_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/identity"
)

// Points awarded while an account is being linked land once, on one
// identity: the link locks the account's row as every award does.
func TestLinkHubWhilePointsArrive(t *testing.T) {
	t.Parallel()
	f := newHubFixture(t)
	ctx := context.Background()
	uid := f.user("duck@example.com")
	cid := f.community("ducks")
	f.award(cid, duckTwitch, 100)
	f.award(cid, duckDiscord, 50)

	const awards = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*awards+2)
	for i := range awards {
		for _, acc := range []identity.Account{duckTwitch, duckDiscord} {
			wg.Go(func() {
				if _, err := f.pointsAdd(cid, acc, 1); err != nil {
					errs <- fmt.Errorf("award %d: %w", i, err)
				}
			})
		}
	}
	for _, acc := range []identity.Account{duckTwitch, duckDiscord} {
		wg.Go(func() {
			// Two links of one user at once: both land in the one identity.
			if _, err := f.ids.LinkHub(ctx, audit.Actor{UserID: uid}, uid, acc); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if a, b := f.identityOf(duckTwitch), f.identityOf(duckDiscord); a != b {
		t.Fatalf("twitch in %d, discord in %d: want one identity", a, b)
	}
	if got, want := f.balance(cid, duckTwitch), int64(100+50+2*awards); got != want {
		t.Errorf("balance %d, want %d: points lost or counted twice", got, want)
	}
	if n := f.id("SELECT count(*) FROM identities WHERE user_id = $1", uid); n != 1 {
		t.Errorf("%d identities for the user", n)
	}
	// The ledger adds up to the balance.
	if sum := f.id(`SELECT coalesce(sum(delta), 0) FROM points_ledger l JOIN identity_accounts a ON a.identity_id = l.identity_id
		WHERE l.community_id = $1 AND a.platform = 'twitch' AND a.account_id = $2`, cid, duckTwitch.ID); sum != f.balance(cid, duckTwitch) {
		t.Errorf("ledger sums to %d, balance is %d", sum, f.balance(cid, duckTwitch))
	}
}

func (f *hubFixture) pointsAdd(cid int64, acc identity.Account, n int64) (int64, error) {
	return db.New(f.pool).PointsAdd(context.Background(), db.PointsAddParams{Platform: acc.Platform, UserID: acc.ID, UserName: acc.Name,
		CommunityID: cid, Delta: n, Reason: "test"})
}
