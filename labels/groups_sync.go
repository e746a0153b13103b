package labels

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
)

// RoleArgs is the job that gives or takes one account's role. It carries
// ids only: the worker reads the rest, and the bots hold the tokens.
type RoleArgs struct {
	AssignmentID int64 `json:"assignment_id"`
	Want         bool  `json:"want"` // give; false: take
	// Where: a taking still runs when its assignment is gone with its label
	// (a deleted label takes back the roles it gave).
	Platform string `json:"platform"`
	Server   string `json:"server"`
	Group    string `json:"group"`
	Account  string `json:"account"`
}

// Kind names the job in the queue.
func (RoleArgs) Kind() string { return "labels.role" }

// RoleAttempts is how often a transient failure is retried (River's backoff
// grows to about a day) before the assignment is marked failed.
const RoleAttempts = 12

// InsertOpts bounds the retries.
func (RoleArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: RoleAttempts} }

// upsert is one account's role asked for.
type upsert struct {
	group, identity int64
	account         string
	want            bool
}

// Changed asks, in tx, for the platform roles of the labels given or taken:
// for each change and each group of the label, the person's account on the
// group's platform gets a pending assignment and a job. It implements
// RoleSync.
func (g *Groups) Changed(ctx context.Context, tx pgx.Tx, changes []Change) error {
	byCommunity := map[int64][]Change{}
	var order []int64
	for _, c := range changes {
		if _, ok := byCommunity[c.CommunityID]; !ok {
			order = append(order, c.CommunityID)
		}
		byCommunity[c.CommunityID] = append(byCommunity[c.CommunityID], c)
	}
	q := db.New(tx)
	for _, cid := range order {
		cs := byCommunity[cid]
		p := db.LabelGroupTargetsManyParams{CommunityID: cid, IdentityIds: make([]int64, len(cs)), LabelIds: make([]int64, len(cs)), Gives: make([]bool, len(cs))}
		for i, c := range cs {
			p.IdentityIds[i], p.LabelIds[i], p.Gives[i] = c.IdentityID, c.LabelID, c.Give
		}
		targets, err := q.LabelGroupTargetsMany(ctx, p)
		if err != nil {
			return fmt.Errorf("find the groups of changed labels: %w", err)
		}
		ups := make([]upsert, 0, len(targets))
		for _, t := range targets {
			ups = append(ups, upsert{group: t.GroupID, identity: t.IdentityID, account: t.AccountID, want: t.Give})
		}
		if err := g.enqueue(ctx, tx, cid, ups); err != nil {
			return err
		}
	}
	return nil
}

// enqueue records ups as pending (the last one for an account wins) and
// queues their jobs, in tx.
func (g *Groups) enqueue(ctx context.Context, tx pgx.Tx, communityID int64, ups []upsert) error {
	if len(ups) == 0 {
		return nil
	}
	type key struct {
		group   int64
		account string
	}
	last := map[key]int{}
	for i, u := range ups {
		last[key{u.group, u.account}] = i
	}
	p := db.LabelAssignmentUpsertManyParams{CommunityID: communityID}
	for i, u := range ups {
		if last[key{u.group, u.account}] != i {
			continue
		}
		p.GroupIds = append(p.GroupIds, u.group)
		p.IdentityIds = append(p.IdentityIds, u.identity)
		p.AccountIds = append(p.AccountIds, u.account)
		p.Wants = append(p.Wants, u.want)
	}
	q := db.New(tx)
	rows, err := q.LabelAssignmentUpsertMany(ctx, p)
	if err != nil {
		return fmt.Errorf("record role assignments: %w", err)
	}
	var ids []int64
	for _, r := range rows {
		if !slices.Contains(ids, r.GroupID) {
			ids = append(ids, r.GroupID)
		}
	}
	groups, err := q.LabelGroupsByIDs(ctx, db.LabelGroupsByIDsParams{CommunityID: communityID, Ids: ids})
	if err != nil {
		return fmt.Errorf("load groups: %w", err)
	}
	byID := map[int64]db.LabelGroup{}
	for _, gr := range groups {
		byID[gr.ID] = gr
	}
	jobs := make([]river.InsertManyParams, 0, len(rows))
	for _, r := range rows {
		gr := byID[r.GroupID]
		jobs = append(jobs, river.InsertManyParams{Args: RoleArgs{AssignmentID: r.ID, Want: r.Want,
			Platform: gr.Platform, Server: gr.Server, Group: gr.GroupID, Account: r.AccountID}})
	}
	if _, err := g.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("queue role assignments: %w", err)
	}
	return nil
}

// RoleWorker gives and takes roles through the bots.
type RoleWorker struct {
	river.WorkerDefaults[RoleArgs]
	Groups *Groups
}

// Timeout bounds one attempt.
func (w *RoleWorker) Timeout(*river.Job[RoleArgs]) time.Duration { return 30 * time.Second }

// Work makes one attempt: done, failed with the platform's reason on a
// permanent refusal, or an error (River retries with backoff) on a transient
// one, failed once the attempts are spent. A job whose assignment was asked
// for the opposite since does nothing: a newer job has it.
func (w *RoleWorker) Work(ctx context.Context, job *river.Job[RoleArgs]) error {
	g, a := w.Groups, job.Args
	q := db.New(g.pool)
	if _, err := q.LabelAssignmentAttempt(ctx, db.LabelAssignmentAttemptParams{ID: a.AssignmentID, Want: a.Want}); errors.Is(err, pgx.ErrNoRows) {
		return w.orphan(ctx, job) // superseded, settled, or gone with its label
	} else if err != nil {
		return fmt.Errorf("count role attempt %d: %w", a.AssignmentID, err)
	}
	row, err := q.LabelAssignmentJob(ctx, a.AssignmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load role assignment %d: %w", a.AssignmentID, err)
	}
	finish := func(state, detail string) error {
		if _, err := q.LabelAssignmentFinish(ctx, db.LabelAssignmentFinishParams{ID: a.AssignmentID, Want: a.Want, State: state, Detail: detail}); err != nil {
			return fmt.Errorf("record role assignment %d: %w", a.AssignmentID, err)
		}
		return nil
	}
	giver := g.giver(row.Platform)
	if giver == nil {
		return finish(StateFailed, "The "+platformTitle(row.Platform)+" bot is not running.")
	}
	err = g.call(ctx, row, giver, a.Want)
	log := g.logger.With("assignment", a.AssignmentID, "platform", row.Platform, "give", a.Want, "attempt", job.Attempt)
	var refused *Refused
	var later *Later
	switch {
	case err == nil:
		log.InfoContext(ctx, "role assignment done")
		return finish(StateDone, "")
	case errors.As(err, &refused):
		log.InfoContext(ctx, "role assignment refused", "reason", refused.Reason)
		return finish(StateFailed, refused.Reason)
	case job.Attempt >= job.MaxAttempts:
		log.WarnContext(ctx, "role assignment failed; attempts spent", "err", err)
		return finish(StateFailed, fmt.Sprintf("%s (gave up after %d attempts)", reason(err), job.Attempt))
	}
	if nerr := q.LabelAssignmentNote(ctx, db.LabelAssignmentNoteParams{ID: a.AssignmentID, Want: a.Want,
		Detail: reason(err) + "; retrying"}); nerr != nil {
		return fmt.Errorf("note role attempt %d: %w", a.AssignmentID, nerr)
	}
	log.WarnContext(ctx, "role assignment failed; will retry", "err", err)
	if errors.As(err, &later) && later.Wait > 0 {
		return river.JobSnooze(later.Wait)
	}
	return fmt.Errorf("role assignment %d: %w", a.AssignmentID, err)
}

// call gives or takes the role. Slack's user groups are changed by replacing
// the whole member list: the jobs of one group take turns (a row lock held
// across the read-modify-write), so two cannot lose each other's member.
// An edit made by hand in Slack at the same moment can still be lost; the
// next re-sync shows it.
func (g *Groups) call(ctx context.Context, row db.LabelAssignmentJobRow, giver RoleGiver, give bool) error {
	do := func() error {
		if give {
			return giver.Give(ctx, row.Server, row.PlatformGroup, row.AccountID)
		}
		return giver.Take(ctx, row.Server, row.PlatformGroup, row.AccountID)
	}
	if row.Platform != "slack" {
		return do()
	}
	var callErr error
	err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		if _, err := db.New(tx).LabelGroupLockSync(ctx, row.GroupID); err != nil {
			return fmt.Errorf("lock group %d: %w", row.GroupID, err)
		}
		callErr = do()
		return nil
	})
	if err != nil {
		return err
	}
	return callErr
}

// orphan handles a job whose assignment no longer wants it. A taking whose
// assignment is gone (its label was deleted) still takes the role, with no
// state left to record; anything else was superseded or settled.
func (w *RoleWorker) orphan(ctx context.Context, job *river.Job[RoleArgs]) error {
	g, a := w.Groups, job.Args
	if a.Want || a.Platform == "" {
		return nil
	}
	exists, err := db.New(g.pool).LabelAssignmentExists(ctx, a.AssignmentID)
	if err != nil {
		return fmt.Errorf("look up role assignment %d: %w", a.AssignmentID, err)
	}
	giver := g.giver(a.Platform)
	if exists || giver == nil {
		return nil
	}
	err = giver.Take(ctx, a.Server, a.Group, a.Account)
	var refused *Refused
	switch {
	case err == nil:
		g.logger.InfoContext(ctx, "took the role of a deleted label", "platform", a.Platform, "assignment", a.AssignmentID)
		return nil
	case errors.As(err, &refused), job.Attempt >= job.MaxAttempts:
		g.logger.WarnContext(ctx, "could not take the role of a deleted label", "platform", a.Platform, "assignment", a.AssignmentID, "err", err)
		return nil
	}
	var later *Later
	if errors.As(err, &later) && later.Wait > 0 {
		return river.JobSnooze(later.Wait)
	}
	return fmt.Errorf("take the role of a deleted label: %w", err)
}
