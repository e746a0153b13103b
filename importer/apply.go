package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// What to do with an imported command whose name the community uses.
const (
	ConflictSkip      = "skip"
	ConflictRename    = "rename"    // the first free name_2, name_3 …
	ConflictOverwrite = "overwrite" // replace the community's command (undo restores it)
)

// What to do with the currencies not chosen.
const (
	OtherSkip    = "skip"
	OtherCounter = "counter" // each into a named counter holding its total
)

// Choices are the manager's answers to a preview.
type Choices struct {
	// Conflicts maps an imported command's name to a ConflictSkip,
	// ConflictRename or ConflictOverwrite; AllConflicts answers for the rest
	// (default skip).
	Conflicts    map[string]string `json:"conflicts,omitempty"`
	AllConflicts string            `json:"all_conflicts,omitempty"`
	// Currency is the source currency that becomes the community's points,
	// required when the source had several.
	Currency        string `json:"currency,omitempty"`
	OtherCurrencies string `json:"other_currencies,omitempty"`
}

func (c Choices) conflict(name string) string {
	if m := c.Conflicts[name]; m != "" {
		return m
	}
	if c.AllConflicts != "" {
		return c.AllConflicts
	}
	return ConflictSkip
}

func (c Choices) validate(b *Bundle) error {
	modes := []string{ConflictSkip, ConflictRename, ConflictOverwrite}
	if c.AllConflicts != "" && !slices.Contains(modes, c.AllConflicts) {
		return problem.Invalidf("conflicts", "Choose skip, rename or overwrite for conflicts.")
	}
	for name, m := range c.Conflicts {
		if !slices.Contains(modes, m) {
			return problem.Invalidf("conflicts", "Choose skip, rename or overwrite for !%s.", name)
		}
	}
	if len(b.Currencies) > 1 && !slices.Contains(b.Currencies, c.Currency) {
		return problem.Invalidf("currency", "The import has several currencies: choose which one becomes the points.")
	}
	if c.OtherCurrencies != "" && c.OtherCurrencies != OtherSkip && c.OtherCurrencies != OtherCounter {
		return problem.Invalidf("other_currencies", "Choose skip or counter for the other currencies.")
	}
	return nil
}

// Report is what an apply did, and what undo needs to put back.
type Report struct {
	Commands    int          `json:"commands"`
	Aliases     int          `json:"aliases"`
	Timers      int          `json:"timers"`
	Quotes      int          `json:"quotes"`
	Counters    int          `json:"counters"`
	Filters     int          `json:"filters"`
	Renamed     []Rename     `json:"renamed,omitempty"`
	Skipped     []string     `json:"skipped,omitempty"` // commands skipped for a conflict
	Overwritten []OldCommand `json:"overwritten,omitempty"`
	// DroppedAliases are aliases left out because the community uses them.
	DroppedAliases []string `json:"dropped_aliases,omitempty"`
	CountersKept   []string `json:"counters_kept,omitempty"` // the community's counter of that name was kept
	TimersRenamed  []Rename `json:"timers_renamed,omitempty"`
	TimersDisabled bool     `json:"timers_disabled,omitempty"`
	// Balances: credited to an account, waiting for their login (pending),
	// refused (the balance would leave ±(2^53 − 1)), or in another currency.
	PointsCredited int      `json:"points_credited"`
	PointsPending  int      `json:"points_pending"`
	PointsRefused  int      `json:"points_refused"`
	PointsOther    int      `json:"points_other_currency"`
	Notes          []string `json:"notes,omitempty"`
	// Undo: what it took back.
	UndoPoints     int64 `json:"undo_points,omitempty"`
	UndoIdentities int   `json:"undo_identities,omitempty"`
}

// Rename is an item created under another name.
type Rename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// OldCommand is a command as it was before an import overwrote it.
type OldCommand struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	Response       string   `json:"response"`
	Modules        []string `json:"modules"`
	Parallel       bool     `json:"parallel"`
	Permission     string   `json:"permission"`
	UserCooldown   int32    `json:"user_cooldown"`
	GlobalCooldown int32    `json:"global_cooldown"`
	Enabled        bool     `json:"enabled"`
	Platforms      []string `json:"platforms"`
	Counter        int64    `json:"counter"`
	ImportID       *int64   `json:"import_id,omitempty"`
	Aliases        []string `json:"aliases"`
}

// ApplyArgs is the job that applies one import.
type ApplyArgs struct {
	CommunityID int64 `json:"community_id"`
	ImportID    int64 `json:"import_id"`
	// Resumed is when a stalled import was queued again (unix nanoseconds;
	// 0 for the first job), which keeps the new job apart from the dead
	// one River still holds as running.
	Resumed int64 `json:"resumed,omitempty"`
}

// Kind names the job in the queue.
func (ApplyArgs) Kind() string { return "import_apply" }

// applyAttempts is how often the job is tried before the import fails.
const applyAttempts = 5

// InsertOpts keeps one job per import.
func (ApplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: applyAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Apply stores the choices and queues the apply job, in one transaction.
// An import already applied (or applying) is refused: it adds nothing.
func (s *Service) Apply(ctx context.Context, by audit.Actor, communityID, id int64, c Choices) error {
	if s.jobs == nil {
		return problem.New(problem.Conflict, "Background jobs are off on this server, so imports cannot be applied.")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
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
		switch im.State {
		case StateApplying:
			return problem.New(problem.Conflict, "This import is being applied.")
		case StateApplied:
			return problem.New(problem.Conflict, "This import was applied already; applying it again would add nothing.")
		case StateUndone:
			return problem.New(problem.Conflict, "This import was undone; upload it again to import it anew.")
		}
		if err := c.validate(&im.Bundle); err != nil {
			return err
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := q.ImportSetApplying(ctx, db.ImportSetApplyingParams{CommunityID: communityID, ID: id, Choices: raw}); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, ApplyArgs{CommunityID: communityID, ImportID: id}, nil); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ImportApplied,
			Target: fmt.Sprintf("import #%d from %s", id, im.Source.Title()), After: c})
	})
	if err != nil {
		return fmt.Errorf("apply import %d: %w", id, err)
	}
	return nil
}

// ApplyWorker runs ApplyArgs jobs.
type ApplyWorker struct {
	river.WorkerDefaults[ApplyArgs]
	Service *Service
}

// Timeout bounds one attempt: 2,000,000 balances take minutes.
func (w *ApplyWorker) Timeout(*river.Job[ApplyArgs]) time.Duration { return 30 * time.Minute }

// Work applies the import, resuming where an earlier attempt stopped. The
// last failed attempt marks the import failed (Apply may be asked again).
func (w *ApplyWorker) Work(ctx context.Context, job *river.Job[ApplyArgs]) error {
	s := w.Service
	a := job.Args
	err := s.run(ctx, a.CommunityID, a.ImportID)
	if err == nil {
		return nil
	}
	last := job.Attempt >= job.MaxAttempts
	s.logger.WarnContext(ctx, "import apply failed", "err", err, "import", a.ImportID, "attempt", job.Attempt, "last", last)
	msg := "The apply stopped: " + err.Error()
	if p := problem.As(err); p != nil {
		msg = p.Message
	}
	if e := db.New(s.pool).ImportSetError(context.WithoutCancel(ctx), db.ImportSetErrorParams{CommunityID: a.CommunityID, ID: a.ImportID,
		Error: msg, Failed: last}); e != nil {
		s.logger.WarnContext(ctx, "import error not recorded", "err", e, "import", a.ImportID)
	}
	return err
}

// run applies the items once, then the balances batch by batch, then
// marks the import applied. Each step commits with the import's progress,
// so a crash and a retry go on from the last commit.
func (s *Service) run(ctx context.Context, communityID, id int64) error {
	im, err := s.Get(ctx, communityID, id)
	if err != nil {
		return err
	}
	if im.State != StateApplying {
		return nil // applied, undone or failed meanwhile: nothing to do
	}
	if !im.ItemsDone {
		if err := s.applyItems(ctx, communityID, id); err != nil {
			return err
		}
	}
	for {
		done, err := s.applyBatch(ctx, communityID, id)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	return s.finish(ctx, communityID, id)
}

// lockApplying takes the import's row for the rest of tx; false when it is
// no longer applying.
func lockApplying(ctx context.Context, q *db.Queries, communityID, id int64) (Import, bool, error) {
	r, err := q.ImportGetForUpdate(ctx, db.ImportGetForUpdateParams{CommunityID: communityID, ID: id})
	if err != nil {
		return Import{}, false, fmt.Errorf("lock import %d: %w", id, err)
	}
	im, err := fromRow(r)
	if err != nil {
		return Import{}, false, err
	}
	return im, im.State == StateApplying, nil
}

func (s *Service) finish(ctx context.Context, communityID, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		im, ok, err := lockApplying(ctx, q, communityID, id)
		if err != nil || !ok {
			return err
		}
		raw, err := json.Marshal(im.Report)
		if err != nil {
			return err
		}
		if err := q.ImportSetApplied(ctx, db.ImportSetAppliedParams{CommunityID: communityID, ID: id, Report: raw}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{Name: "import job"}, audit.Entry{CommunityID: communityID, Action: audit.ImportApplied,
			Target: fmt.Sprintf("import #%d from %s", id, im.Source.Title()), After: im.Report})
	})
}
