package workflow

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

// Publish makes the draft the workflow's next published version: its
// triggers start runs from now on. A definition with errors is refused with
// the report; beyond the free plan's one published workflow, Licensing
// decides.
func (s *Service) Publish(ctx context.Context, cid, id int64, by audit.Actor) (*Workflow, Report, error) {
	var w *Workflow
	var rep Report
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := lockWorkflow(ctx, q, cid, id)
		if err != nil {
			return err
		}
		if w, err = fromRow(row); err != nil {
			return err
		}
		if rep = Validate(&w.Definition); !rep.OK() {
			return invalidReport(rep, "publishing")
		}
		if s.licensing != nil && row.Status != StatusPublished {
			n, err := q.WorkflowCountPublished(ctx, cid)
			if err != nil {
				return fmt.Errorf("count published workflows: %w", err)
			}
			if err := s.licensing.CheckPublish(ctx, cid, int(n)); err != nil {
				return err
			}
		}
		version := row.Version + 1
		if err := q.WorkflowVersionInsert(ctx, db.WorkflowVersionInsertParams{WorkflowID: id, CommunityID: cid, Version: version,
			Definition: row.Draft, PublishedBy: userRef(by.UserID)}); err != nil {
			return fmt.Errorf("store version %d: %w", version, err)
		}
		if row, err = q.WorkflowSetStatus(ctx, db.WorkflowSetStatusParams{CommunityID: cid, ID: id, Status: StatusPublished, Version: version}); err != nil {
			return fmt.Errorf("publish workflow %d: %w", id, err)
		}
		if w, err = fromRow(row); err != nil {
			return err
		}
		if err := s.runHooks(ctx, tx, w, &w.Definition); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowPublished, Target: w.Name,
			After: map[string]any{"version": version}})
	})
	if err != nil {
		return nil, rep, err
	}
	s.published(ctx, cid)
	return w, rep, nil
}

// SetStatus takes a workflow back to draft or archives it: its triggers
// stop; its versions and runs stay.
func (s *Service) SetStatus(ctx context.Context, cid, id int64, by audit.Actor, status string) (*Workflow, error) {
	action := audit.WorkflowDrafted
	switch status {
	case StatusDraft:
	case StatusArchived:
		action = audit.WorkflowArchived
	default:
		return nil, problem.Invalidf("status", "A workflow goes back to draft or is archived.")
	}
	var w *Workflow
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := lockWorkflow(ctx, q, cid, id)
		if err != nil {
			return err
		}
		before := row.Status
		if row, err = q.WorkflowSetStatus(ctx, db.WorkflowSetStatusParams{CommunityID: cid, ID: id, Status: status, Version: row.Version}); err != nil {
			return fmt.Errorf("set workflow %d %s: %w", id, status, err)
		}
		if w, err = fromRow(row); err != nil {
			return err
		}
		if err := s.runHooks(ctx, tx, w, nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: action, Target: w.Name,
			Before: map[string]any{"status": before}, After: map[string]any{"status": status}})
	})
	if err != nil {
		return nil, err
	}
	s.published(ctx, cid)
	return w, nil
}

// Version returns one published version's definition.
func (s *Service) Version(ctx context.Context, cid, id int64, version int32) (Definition, error) {
	var d Definition
	row, err := db.New(s.read).WorkflowVersionGet(ctx, db.WorkflowVersionGetParams{CommunityID: cid, WorkflowID: id, Version: version})
	if errors.Is(err, pgx.ErrNoRows) {
		return d, problem.New(problem.NotFound, "This workflow has no version %d.", version)
	}
	if err != nil {
		return d, fmt.Errorf("load version %d of workflow %d: %w", version, id, err)
	}
	if err := json.Unmarshal(row.Definition, &d); err != nil {
		return d, fmt.Errorf("decode version %d of workflow %d: %w", version, id, err)
	}
	return d, nil
}

// published is told that a community's published workflows changed; the
// trigger index reloads them.
func (s *Service) published(ctx context.Context, cid int64) {
	if s.onPublished != nil {
		s.onPublished(ctx, cid)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// invalidReport refuses a definition with errors, naming the first.
func invalidReport(rep Report, before string) error {
	return problem.Invalidf("definition", "The workflow has %d %s; fix %s before %s (first: %s).",
		len(rep.Errors), plural(len(rep.Errors), "error", "errors"), plural(len(rep.Errors), "it", "them"), before, rep.Errors[0])
}
