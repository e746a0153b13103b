package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Enqueuer queues the apply job in the transaction that marks the import
// applying (a *river.Client[pgx.Tx]).
type Enqueuer interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Resolver finds the ids of Twitch logins (Helix Get Users, at most 100
// logins a call). A login it does not know is left out of the map.
type Resolver interface {
	TwitchIDs(ctx context.Context, logins []string) (map[string]string, error)
}

// Commands is the router's side of an import: which names are built in,
// and dropping the cached commands of a community on every instance after
// an import changed them (*router.Settings).
type Commands interface {
	Invalidate(ctx context.Context, communityID int64)
	BuiltinName(name string) bool
}

// Config is what the service needs.
type Config struct {
	Pool     *pgxpool.Pool
	Jobs     Enqueuer // nil: Apply refuses (the job queue is off)
	Resolver Resolver // nil: viewers are matched to known accounts only
	Commands Commands // nil: no built-in names, no cache to drop
	Logger   *slog.Logger
	Now      func() time.Time // the clock of the undo window; default time.Now
	// BatchSize is how many balances one apply transaction writes; default
	// 5,000.
	BatchSize int
}

// Service stores, previews, applies and undoes imports.
type Service struct {
	pool      *pgxpool.Pool
	jobs      Enqueuer
	resolver  Resolver
	commands  Commands
	logger    *slog.Logger
	now       func() time.Time
	batchSize int
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{pool: cfg.Pool, jobs: cfg.Jobs, resolver: cfg.Resolver, commands: cfg.Commands, logger: cfg.Logger,
		now: cfg.Now, batchSize: cfg.BatchSize}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("component", "importer")
	if s.now == nil {
		s.now = time.Now
	}
	if s.batchSize <= 0 {
		s.batchSize = 5000
	}
	return s
}

// The states of an import.
const (
	StatePreviewed = "previewed"
	StateApplying  = "applying"
	StateApplied   = "applied"
	StateFailed    = "failed"
	StateUndone    = "undone"
)

// UndoWindow is how long after it was applied an import can be undone.
const UndoWindow = 7 * 24 * time.Hour

// ErrNotFound is an import id the community does not have.
var ErrNotFound = problem.New(problem.NotFound, "There is no such import.")

// Import is one stored import.
type Import struct {
	ID          int64
	CommunityID int64
	Source      Source
	State       string
	CreatedBy   int64 // the hub user; 0 when unknown
	FileNames   []string
	// Bundle is what was read, without the balances (Points is nil; see
	// PointsTotal). Empty in List.
	Bundle      Bundle
	Choices     Choices
	Report      Report
	PointsTotal int
	PointsDone  int
	ItemsDone   bool
	Error       string
	CreatedAt   time.Time
	AppliedAt   time.Time // zero until applied
	UndoneAt    time.Time
}

// Undoable reports whether the import can still be undone at now.
func (im Import) Undoable(now time.Time) bool {
	return im.State == StateApplied && now.Sub(im.AppliedAt) <= UndoWindow
}

// Get returns a community's import.
func (s *Service) Get(ctx context.Context, communityID, id int64) (Import, error) {
	r, err := db.New(s.pool).ImportGet(ctx, db.ImportGetParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Import{}, ErrNotFound
	}
	if err != nil {
		return Import{}, fmt.Errorf("load import %d: %w", id, err)
	}
	return fromRow(r)
}

// List returns a community's imports, newest first, without their bundles.
func (s *Service) List(ctx context.Context, communityID int64) ([]Import, error) {
	rows, err := db.New(s.pool).ImportList(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	out := make([]Import, 0, len(rows))
	for _, r := range rows {
		im, err := fromRow(db.Import{ID: r.ID, CommunityID: r.CommunityID, Source: r.Source, State: r.State, CreatedBy: r.CreatedBy,
			FileNames: r.FileNames, Choices: r.Choices, Report: r.Report, PointsTotal: r.PointsTotal, PointsDone: r.PointsDone,
			ItemsDone: r.ItemsDone, Error: r.Error, CreatedAt: r.CreatedAt, AppliedAt: r.AppliedAt, UndoneAt: r.UndoneAt})
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, nil
}

// Progress is how far an apply got, for the hub's progress bar.
type Progress struct {
	State       string
	PointsDone  int
	PointsTotal int
	ItemsDone   bool
	Error       string
}

// Progress returns how far the import's apply got.
func (s *Service) Progress(ctx context.Context, communityID, id int64) (Progress, error) {
	im, err := s.Get(ctx, communityID, id)
	if err != nil {
		return Progress{}, err
	}
	return Progress{State: im.State, PointsDone: im.PointsDone, PointsTotal: im.PointsTotal, ItemsDone: im.ItemsDone, Error: im.Error}, nil
}

func fromRow(r db.Import) (Import, error) {
	im := Import{ID: r.ID, CommunityID: r.CommunityID, Source: Source(r.Source), State: r.State, FileNames: r.FileNames,
		PointsTotal: int(r.PointsTotal), PointsDone: int(r.PointsDone), ItemsDone: r.ItemsDone, Error: r.Error, CreatedAt: r.CreatedAt}
	if r.CreatedBy != nil {
		im.CreatedBy = *r.CreatedBy
	}
	if r.AppliedAt != nil {
		im.AppliedAt = *r.AppliedAt
	}
	if r.UndoneAt != nil {
		im.UndoneAt = *r.UndoneAt
	}
	for _, f := range []struct {
		raw []byte
		v   any
	}{{r.Bundle, &im.Bundle}, {r.Choices, &im.Choices}, {r.Report, &im.Report}} {
		if len(f.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(f.raw, f.v); err != nil {
			return Import{}, fmt.Errorf("read import %d: %w", r.ID, err)
		}
	}
	return im, nil
}
