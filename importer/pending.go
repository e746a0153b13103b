package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Seen is an account met under a login: it chatted in a community, or its
// owner linked it (CommunityID 0: in every community).
type Seen struct {
	CommunityID int64
	Login       string // the platform's login (any case)
	AccountID   string
	Name        string
}

// BindPending gives the balances waiting for these logins to their
// accounts' identities (a ledger row each, with the import's reason) and
// removes them from pending, in one transaction. Pending rows are taken
// with a delete, so two binds at once give each balance once. A balance
// that would leave ±(2^53 − 1) stays pending.
func (s *Service) BindPending(ctx context.Context, platform string, seen []Seen) error {
	var take db.PendingPointsTakeParams
	take.Platform = platform
	account := map[[2]string]Seen{} // community (as text), login → account
	for _, a := range seen {
		a.Login = strings.ToLower(strings.TrimSpace(a.Login))
		if a.Login == "" || a.AccountID == "" || len(a.AccountID) > 100 {
			continue
		}
		k := [2]string{fmt.Sprint(a.CommunityID), a.Login}
		if _, ok := account[k]; ok {
			continue
		}
		account[k] = a
		take.CommunityIds = append(take.CommunityIds, a.CommunityID)
		take.Logins = append(take.Logins, a.Login)
	}
	if len(take.Logins) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := db.CustomPlans(ctx, tx); err != nil {
			return err
		}
		q := db.New(tx)
		rows, err := q.PendingPointsTake(ctx, take)
		if err != nil || len(rows) == 0 {
			return err
		}
		var lock db.ImportAccountsLockParams
		cs := make([]credit, len(rows))
		var bind db.ImportPointsBindParams
		bind.Platform = platform
		for i, r := range rows {
			a, ok := account[[2]string{fmt.Sprint(r.CommunityID), r.Login}]
			if !ok {
				a = account[[2]string{"0", r.Login}]
			}
			lock.Platforms = append(lock.Platforms, platform)
			lock.AccountIds = append(lock.AccountIds, a.AccountID)
			lock.UserNames = append(lock.UserNames, cut(a.Name, 100))
			cs[i] = credit{communityID: r.CommunityID, platform: platform, accountID: a.AccountID, points: r.Points,
				seconds: r.Seconds, reason: r.Reason, importID: r.ImportID}
		}
		if err := q.ImportAccountsLock(ctx, lock); err != nil {
			return fmt.Errorf("lock accounts: %w", err)
		}
		credited, err := creditAll(ctx, q, cs)
		if err != nil {
			return err
		}
		var back db.ImportPendingInsertParams
		for i, r := range rows {
			if credited[i] {
				bind.ImportIds = append(bind.ImportIds, r.ImportID)
				bind.Logins = append(bind.Logins, r.Login)
				bind.AccountIds = append(bind.AccountIds, cs[i].accountID)
				continue
			}
			back.CommunityIds = append(back.CommunityIds, r.CommunityID)
			back.Platforms = append(back.Platforms, platform)
			back.Logins = append(back.Logins, r.Login)
			back.ImportIds = append(back.ImportIds, r.ImportID)
			back.Points = append(back.Points, r.Points)
			back.Seconds = append(back.Seconds, r.Seconds)
			back.Reasons = append(back.Reasons, r.Reason)
		}
		if len(bind.Logins) > 0 {
			if err := q.ImportPointsBind(ctx, bind); err != nil {
				return fmt.Errorf("record the bound accounts: %w", err)
			}
		}
		if len(back.Logins) > 0 {
			if err := q.ImportPendingInsert(ctx, back); err != nil {
				return fmt.Errorf("keep refused balances pending: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bind pending points: %w", err)
	}
	return nil
}
