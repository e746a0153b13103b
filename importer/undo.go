package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Undo removes what an applied import created (commands, aliases, timers,
// quotes, counters, filters), puts back the commands it overwrote, takes
// back its points (only what each balance still holds) and watch time,
// and drops its balances still waiting for their viewer; in one
// transaction, within UndoWindow of the apply.
func (s *Service) Undo(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := db.CustomPlans(ctx, tx); err != nil {
			return err
		}
		q := db.New(tx)
		r, err := q.ImportGetForUpdate(ctx, db.ImportGetForUpdateParams{CommunityID: communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		im, err := fromRow(r)
		if err != nil {
			return err
		}
		switch {
		case im.State == StateUndone:
			return problem.New(problem.Conflict, "This import was undone already.")
		case im.State != StateApplied:
			return problem.New(problem.Conflict, "Only an applied import can be undone; this one is %s.", im.State)
		case !im.Undoable(s.now()):
			return problem.New(problem.Conflict, "This import was applied on %s; an import can be undone for 7 days only.",
				im.AppliedAt.UTC().Format("2 January 2006"))
		}
		rep := &im.Report
		cid, iid := communityID, &im.ID
		for _, old := range rep.Overwritten {
			n, err := q.ImportCommandRestore(ctx, db.ImportCommandRestoreParams{CommunityID: cid, ID: old.ID, ImportID: iid,
				Response: old.Response, Modules: nonNil(old.Modules), Parallel: old.Parallel, Permission: old.Permission,
				UserCooldown: old.UserCooldown, GlobalCooldown: old.GlobalCooldown, Enabled: old.Enabled, Platforms: nonNil(old.Platforms),
				Counter: old.Counter, OldImportID: old.ImportID})
			if err != nil {
				return fmt.Errorf("restore !%s: %w", old.Name, err)
			}
			if n == 0 {
				continue // changed or deleted since: left as it is
			}
			if err := q.ImportCommandAliasesDelete(ctx, db.ImportCommandAliasesDeleteParams{CommunityID: cid, CommandID: old.ID}); err != nil {
				return err
			}
			if len(old.Aliases) > 0 {
				ids := make([]int64, len(old.Aliases))
				for i := range ids {
					ids[i] = old.ID
				}
				if err := q.ImportAliasesInsert(ctx, db.ImportAliasesInsertParams{CommunityID: cid, Aliases: old.Aliases, CommandIds: ids}); err != nil {
					return fmt.Errorf("restore the aliases of !%s: %w", old.Name, err)
				}
			}
		}
		deletes := []func() (int64, error){
			func() (int64, error) {
				return q.ImportDeleteCommands(ctx, db.ImportDeleteCommandsParams{CommunityID: cid, ImportID: iid})
			},
			func() (int64, error) {
				return q.ImportDeleteTimers(ctx, db.ImportDeleteTimersParams{CommunityID: cid, ImportID: iid})
			},
			func() (int64, error) {
				return q.ImportDeleteQuotes(ctx, db.ImportDeleteQuotesParams{CommunityID: cid, ImportID: iid})
			},
			func() (int64, error) {
				return q.ImportDeleteCounters(ctx, db.ImportDeleteCountersParams{CommunityID: cid, ImportID: iid})
			},
			func() (int64, error) {
				return q.ImportDeleteRules(ctx, db.ImportDeleteRulesParams{CommunityID: cid, ImportID: iid})
			},
			func() (int64, error) {
				return q.ImportDeletePending(ctx, db.ImportDeletePendingParams{CommunityID: cid, ImportID: im.ID})
			},
		}
		for _, del := range deletes {
			if _, err := del(); err != nil {
				return fmt.Errorf("remove what the import created: %w", err)
			}
		}
		back, err := q.ImportPointsReverse(ctx, db.ImportPointsReverseParams{CommunityID: cid, ImportID: iid,
			Reason: fmt.Sprintf("undo of import #%d", im.ID)})
		if err != nil {
			return fmt.Errorf("take back points: %w", err)
		}
		rep.UndoIdentities, rep.UndoPoints = int(back.Identities), back.Points
		if _, err := q.ImportWatchTimeReverse(ctx, db.ImportWatchTimeReverseParams{CommunityID: cid, ImportID: im.ID,
			PointsDone: int32(im.PointsDone), Currency: im.Choices.Currency}); err != nil {
			return fmt.Errorf("take back watch time: %w", err)
		}
		raw, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if err := q.ImportSetUndone(ctx, db.ImportSetUndoneParams{CommunityID: cid, ID: im.ID, Report: raw}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.ImportUndone,
			Target: fmt.Sprintf("import #%d from %s", im.ID, im.Source.Title()),
			After:  map[string]int64{"points_taken_back": -back.Points, "viewers": int64(back.Identities)}})
	})
	if err != nil {
		return fmt.Errorf("undo import %d: %w", id, err)
	}
	if s.commands != nil {
		s.commands.Invalidate(ctx, communityID)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
