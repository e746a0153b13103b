package importer

import (
	"context"
	"fmt"
	"math"

	"github.com/waddle/waddle/db"
)

// credit is one balance to give to an account whose row is locked.
type credit struct {
	communityID int64
	platform    string
	accountID   string
	points      int64
	seconds     int64
	reason      string
	importID    int64
}

// creditAll gives each credit to its account's identity: a ledger row per
// credit, each identity's balance and watch time once per community by the
// sum. An identity whose balance would leave ±(2^53 − 1) gets nothing.
// The accounts must be locked (ImportAccountsLock) in the same
// transaction. It reports which credits were given.
//
// Each step is a plain statement over arrays, joined in Go: as one
// statement, PostgreSQL joined the inserted balances back to the rows by
// nested loop (20 million comparisons for a batch of 4,500).
func creditAll(ctx context.Context, q *db.Queries, cs []credit) ([]bool, error) {
	var ask db.ImportAccountIdentitiesParams
	for i, c := range cs {
		ask.Ords = append(ask.Ords, int32(i))
		ask.Platforms = append(ask.Platforms, c.platform)
		ask.AccountIds = append(ask.AccountIds, c.accountID)
	}
	rows, err := q.ImportAccountIdentities(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	identity := make([]int64, len(cs))
	names := make([]string, len(cs))
	for _, r := range rows {
		identity[r.Ord], names[r.Ord] = r.IdentityID, r.UserName
	}
	type key struct{ community, identity int64 }
	type sum struct {
		first          int // the credit that names the balance's account
		points         float64
		total, seconds int64
	}
	sums := map[key]*sum{}
	var order []key
	for i, c := range cs {
		if identity[i] == 0 {
			continue
		}
		k := key{c.communityID, identity[i]}
		s := sums[k]
		if s == nil {
			s = &sum{first: i}
			sums[k] = s
			order = append(order, k)
		}
		s.points += float64(c.points)
		s.total += c.points
		s.seconds = min(s.seconds+c.seconds, MaxPoints)
	}
	var bal db.ImportBalancesAddParams
	for _, k := range order {
		s := sums[k]
		if math.Abs(s.points) > MaxPoints {
			continue // beyond the bound however the balance stands
		}
		c := cs[s.first]
		bal.CommunityIds = append(bal.CommunityIds, k.community)
		bal.IdentityIds = append(bal.IdentityIds, k.identity)
		bal.Platforms = append(bal.Platforms, c.platform)
		bal.UserIds = append(bal.UserIds, c.accountID)
		bal.UserNames = append(bal.UserNames, names[s.first])
		bal.Deltas = append(bal.Deltas, s.total)
	}
	given := map[key]bool{}
	if len(bal.IdentityIds) > 0 {
		got, err := q.ImportBalancesAdd(ctx, bal)
		if err != nil {
			return nil, fmt.Errorf("add to balances: %w", err)
		}
		for _, g := range got {
			given[key{g.CommunityID, g.IdentityID}] = true
		}
	}
	out := make([]bool, len(cs))
	var led db.ImportLedgerInsertParams
	var watch db.ImportWatchAddParams
	for i, c := range cs {
		k := key{c.communityID, identity[i]}
		if identity[i] == 0 || !given[k] {
			continue
		}
		out[i] = true
		if c.points == 0 {
			continue
		}
		led.CommunityIds = append(led.CommunityIds, c.communityID)
		led.IdentityIds = append(led.IdentityIds, identity[i])
		led.Platforms = append(led.Platforms, c.platform)
		led.UserIds = append(led.UserIds, c.accountID)
		led.UserNames = append(led.UserNames, names[i])
		led.Deltas = append(led.Deltas, c.points)
		led.Reasons = append(led.Reasons, c.reason)
		led.ImportIds = append(led.ImportIds, c.importID)
	}
	for _, k := range order {
		s := sums[k]
		if !given[k] || s.seconds <= 0 {
			continue
		}
		c := cs[s.first]
		watch.CommunityIds = append(watch.CommunityIds, k.community)
		watch.IdentityIds = append(watch.IdentityIds, k.identity)
		watch.Platforms = append(watch.Platforms, c.platform)
		watch.UserIds = append(watch.UserIds, c.accountID)
		watch.UserNames = append(watch.UserNames, names[s.first])
		watch.Seconds = append(watch.Seconds, s.seconds)
	}
	if len(led.Deltas) > 0 {
		if err := q.ImportLedgerInsert(ctx, led); err != nil {
			return nil, fmt.Errorf("write the ledger: %w", err)
		}
	}
	if len(watch.Seconds) > 0 {
		if err := q.ImportWatchAdd(ctx, watch); err != nil {
			return nil, fmt.Errorf("add watch time: %w", err)
		}
	}
	return out, nil
}
