package importer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// reason is the ledger reason of an import's balances.
func reason(im Import) string {
	return fmt.Sprintf("imported from %s %s", im.Source.Title(), im.CreatedAt.UTC().Format("2006-01-02"))
}

// applyBatch writes the next batch of balances, in seq order from
// points_done: resolved ones are credited to their account's identity,
// unresolved ones wait in pending_points. points_done moves in the same
// transaction, so a batch counts once however often it is tried. It
// reports whether no balance is left.
func (s *Service) applyBatch(ctx context.Context, communityID, id int64) (bool, error) {
	done := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := db.CustomPlans(ctx, tx); err != nil {
			return err
		}
		q := db.New(tx)
		im, ok, err := lockApplying(ctx, q, communityID, id)
		if err != nil {
			return err
		}
		if !ok || im.PointsDone >= im.PointsTotal {
			done = true
			return nil
		}
		to := min(im.PointsDone+s.batchSize, im.PointsTotal)
		rows, err := q.ImportPointsBatch(ctx, db.ImportPointsBatchParams{ImportID: id, CommunityID: communityID,
			FromSeq: int32(im.PointsDone), ToSeq: int32(to)})
		if err != nil {
			return err
		}
		why := reason(im)
		var lock db.ImportAccountsLockParams
		var cs []credit
		var pend db.ImportPendingInsertParams
		rep := &im.Report
		for _, r := range rows {
			if im.Choices.Currency != "" && r.Currency != im.Choices.Currency {
				rep.PointsOther++
				continue
			}
			if r.AccountID == "" {
				pend.CommunityIds = append(pend.CommunityIds, communityID)
				pend.Platforms = append(pend.Platforms, r.Platform)
				pend.Logins = append(pend.Logins, r.Login)
				pend.ImportIds = append(pend.ImportIds, id)
				pend.Points = append(pend.Points, r.Points)
				pend.Seconds = append(pend.Seconds, r.Seconds)
				pend.Reasons = append(pend.Reasons, why)
				continue
			}
			name := r.Name
			if name == "" {
				name = r.Login
			}
			lock.Platforms = append(lock.Platforms, r.Platform)
			lock.AccountIds = append(lock.AccountIds, r.AccountID)
			lock.UserNames = append(lock.UserNames, name)
			cs = append(cs, credit{communityID: communityID, platform: r.Platform, accountID: r.AccountID, points: r.Points,
				seconds: r.Seconds, reason: why, importID: id})
		}
		if len(cs) > 0 {
			if err := q.ImportAccountsLock(ctx, lock); err != nil {
				return fmt.Errorf("lock accounts: %w", err)
			}
			given, err := creditAll(ctx, q, cs)
			if err != nil {
				return err
			}
			for _, ok := range given {
				if ok {
					rep.PointsCredited++
				} else {
					rep.PointsRefused++
				}
			}
		}
		if len(pend.Logins) > 0 {
			if err := q.ImportPendingInsert(ctx, pend); err != nil {
				return fmt.Errorf("keep unresolved balances: %w", err)
			}
			rep.PointsPending += len(pend.Logins)
		}
		raw, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		done = to >= im.PointsTotal
		return q.ImportSetPointsDone(ctx, db.ImportSetPointsDoneParams{CommunityID: communityID, ID: id, PointsDone: int32(to), Report: raw})
	})
	if err != nil {
		return false, fmt.Errorf("import %d: balances: %w", id, err)
	}
	return done, nil
}
