package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Service stores workflows and runs them.
type Service struct {
	pool   *pgxpool.Pool
	read   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	env    *Env
	limits Limits
	logger *slog.Logger
	owner  int64
	cache  compiledCache
	ids    idBlock
	starts *starter
	done   *finisher
	hooks  []PublishHook
	// Licensing, when set, decides whether a community may publish one
	// more workflow.
	licensing Licenser

	// onPublished is told when a community's published workflows change.
	onPublished func(ctx context.Context, cid int64)

	mu     sync.Mutex
	active map[int64]bool // runs this instance is running
}

// ServiceConfig builds a Service.
type ServiceConfig struct {
	Pool   *pgxpool.Pool
	Read   *pgxpool.Pool // lookups; the primary when nil
	Jobs   *river.Client[pgx.Tx]
	Env    *Env
	Limits Limits // zero: DefaultLimits
	Logger *slog.Logger
	// Instance is this instance's id, whose session advisory lock says it
	// is alive (the router holds it: router.Router.Instance).
	Instance  int64
	Licensing Licenser
}

// Licenser decides whether a community with published workflows may
// publish one more (Licensing does).
type Licenser interface {
	CheckPublish(ctx context.Context, communityID int64, published int) error
}

// PublishHook keeps what a published workflow's triggers need (its chat
// command, schedules, webhooks) in step with it, inside the transaction that
// publishes, drafts, archives or deletes it; def is nil when the workflow
// stops being published.
type PublishHook func(ctx context.Context, tx pgx.Tx, w *Workflow, def *Definition) error

// NewService returns a Service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Read == nil {
		cfg.Read = cfg.Pool
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Env == nil {
		cfg.Env = &Env{}
	}
	if cfg.Env.Pool == nil {
		cfg.Env.Pool = cfg.Pool
	}
	s := &Service{pool: cfg.Pool, read: cfg.Read, jobs: cfg.Jobs, env: cfg.Env, limits: cfg.Limits, logger: cfg.Logger,
		owner: cfg.Instance, licensing: cfg.Licensing, active: map[int64]bool{}}
	s.starts = newStarter(s)
	s.done = newFinisher(s)
	return s
}

// OnPublish adds a hook run whenever a workflow's published state changes.
func (s *Service) OnPublish(h PublishHook) { s.hooks = append(s.hooks, h) }

// Drain waits until the runs of synchronous webhooks that were answered
// but not yet written are stored, or ctx ends. Call it when no more
// deliveries come, after the HTTP server has shut down.
func (s *Service) Drain(ctx context.Context) error { return s.done.drain(ctx) }

// Limits returns the limits of each run.
func (s *Service) Limits() Limits { return s.limits }

// Input is what a user gives to create or change a workflow.
type Input struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Definition  Definition `json:"definition"`
}

func (in *Input) check() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Name == "":
		return problem.Invalidf("name", "Give the workflow a name.")
	case !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > MaxName:
		return problem.Invalidf("name", "A name has at most %d characters.", MaxName)
	case !utf8.ValidString(in.Description) || utf8.RuneCountInString(in.Description) > MaxDescription:
		return problem.Invalidf("description", "A description has at most %d characters.", MaxDescription)
	case len(in.Definition.Nodes) > MaxNodes:
		return problem.Invalidf("definition", "A workflow has at most %d nodes; this one has %d.", MaxNodes, len(in.Definition.Nodes))
	case len(in.Definition.Connections) > MaxConnections:
		return problem.Invalidf("definition", "A workflow has at most %d connections.", MaxConnections)
	}
	if in.Definition.Nodes == nil {
		in.Definition.Nodes = []Node{}
	}
	if in.Definition.Connections == nil {
		in.Definition.Connections = []Connection{}
	}
	return nil
}

var errNameTaken = problem.Invalidf("name", "Another workflow of this community has that name.")

// Create stores a new draft workflow; the report says what is not yet valid.
func (s *Service) Create(ctx context.Context, cid int64, by audit.Actor, in Input) (*Workflow, Report, error) {
	if err := in.check(); err != nil {
		return nil, Report{}, err
	}
	rep := Validate(&in.Definition)
	raw, err := json.Marshal(in.Definition)
	if err != nil {
		return nil, rep, fmt.Errorf("encode definition: %w", err)
	}
	var w *Workflow
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).WorkflowInsert(ctx, db.WorkflowInsertParams{CommunityID: cid, Name: in.Name,
			Description: in.Description, Draft: raw, CreatedBy: userRef(by.UserID)})
		if err != nil {
			if db.IsUniqueViolation(err) {
				return errNameTaken
			}
			return fmt.Errorf("insert workflow: %w", err)
		}
		if w, err = fromRow(row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowCreated, Target: in.Name})
	})
	return w, rep, err
}

// Get returns a workflow of the community.
func (s *Service) Get(ctx context.Context, cid, id int64) (*Workflow, error) {
	row, err := db.New(s.read).WorkflowGet(ctx, db.WorkflowGetParams{CommunityID: cid, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load workflow %d: %w", id, err)
	}
	return fromRow(row)
}

// List returns the community's workflows by name.
func (s *Service) List(ctx context.Context, cid int64) ([]Workflow, error) {
	rows, err := db.New(s.read).WorkflowList(ctx, cid)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	out := make([]Workflow, 0, len(rows))
	for _, row := range rows {
		w, err := fromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, nil
}

// Update replaces a workflow's name, description and draft definition. A
// published workflow keeps running its published version until published
// again.
func (s *Service) Update(ctx context.Context, cid, id int64, by audit.Actor, in Input) (*Workflow, Report, error) {
	if err := in.check(); err != nil {
		return nil, Report{}, err
	}
	rep := Validate(&in.Definition)
	raw, err := json.Marshal(in.Definition)
	if err != nil {
		return nil, rep, fmt.Errorf("encode definition: %w", err)
	}
	var w *Workflow
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		before, err := lockWorkflow(ctx, q, cid, id)
		if err != nil {
			return err
		}
		row, err := q.WorkflowUpdate(ctx, db.WorkflowUpdateParams{CommunityID: cid, ID: id, Name: in.Name, Description: in.Description, Draft: raw})
		if err != nil {
			if db.IsUniqueViolation(err) {
				return errNameTaken
			}
			return fmt.Errorf("update workflow %d: %w", id, err)
		}
		if w, err = fromRow(row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowUpdated, Target: in.Name,
			Before: map[string]any{"name": before.Name, "nodes": nodeCount(before.Draft)},
			After:  map[string]any{"name": in.Name, "nodes": len(in.Definition.Nodes)}})
	})
	return w, rep, err
}

func nodeCount(raw []byte) int {
	var d Definition
	_ = json.Unmarshal(raw, &d)
	return len(d.Nodes)
}

// Delete removes a workflow, its versions and runs.
func (s *Service) Delete(ctx context.Context, cid, id int64, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := lockWorkflow(ctx, q, cid, id)
		if err != nil {
			return err
		}
		w, err := fromRow(row)
		if err != nil {
			return err
		}
		if err := s.runHooks(ctx, tx, w, nil); err != nil {
			return err
		}
		if _, err := q.WorkflowDelete(ctx, db.WorkflowDeleteParams{CommunityID: cid, ID: id}); err != nil {
			return fmt.Errorf("delete workflow %d: %w", id, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowDeleted, Target: row.Name})
	})
	if err != nil {
		return err
	}
	s.published(ctx, cid)
	return nil
}

func (s *Service) runHooks(ctx context.Context, tx pgx.Tx, w *Workflow, def *Definition) error {
	for _, h := range s.hooks {
		if err := h(ctx, tx, w, def); err != nil {
			return err
		}
	}
	return nil
}

func fromRow(row db.Workflow) (*Workflow, error) {
	w := &Workflow{ID: row.ID, CommunityID: row.CommunityID, Name: row.Name, Description: row.Description,
		Status: row.Status, Version: row.Version, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if err := json.Unmarshal(row.Draft, &w.Definition); err != nil {
		return nil, fmt.Errorf("decode workflow %d: %w", row.ID, err)
	}
	return w, nil
}

func userRef(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// lockWorkflow loads a community's workflow in a transaction, locking its
// row until the transaction ends.
func lockWorkflow(ctx context.Context, q *db.Queries, cid, id int64) (db.Workflow, error) {
	row, err := q.WorkflowGetForUpdate(ctx, db.WorkflowGetForUpdateParams{CommunityID: cid, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return row, ErrNotFound
	}
	if err != nil {
		return row, fmt.Errorf("load workflow %d: %w", id, err)
	}
	return row, nil
}
