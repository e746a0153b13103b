package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Schedules belong to the trigger_schedule nodes of published workflows:
// publishing writes each node's settings into its row (keeping the next fire
// time and count when the timing is unchanged), drops the rows of nodes that
// are gone, and taking the workflow back to draft or archiving it turns its
// rows off. The API edits a row directly (POST makes the row of a node that
// has none, PUT changes it, DELETE removes it); such a change holds until
// the workflow is published again, when the node's settings win.

// ErrScheduleNotFound answers for a schedule that does not exist in the
// community.
var ErrScheduleNotFound = problem.New(problem.NotFound, "There is no such schedule here.")

// Tick outcomes.
const (
	TickStarted     = "started"      // a run was started
	TickSkippedLate = "skipped_late" // missed, and older than the grace period
	TickSkippedBusy = "skipped_busy" // the workflow had its maximum of runs going
	TickCoalesced   = "coalesced"    // missed within the grace period: folded into the run of a later tick
)

// Schedule is a schedule as stored.
type Schedule struct {
	ID            int64      `json:"id"`
	WorkflowID    int64      `json:"workflow_id"`
	NodeID        string     `json:"node_id"`
	Kind          string     `json:"kind"`
	Cron          string     `json:"cron,omitempty"`
	TimeZone      string     `json:"timezone,omitempty"`
	EverySeconds  int        `json:"every_seconds,omitempty"`
	MaxCount      int        `json:"max_count,omitempty"`
	At            *time.Time `json:"at,omitempty"`
	GraceSeconds  int        `json:"grace_seconds"`
	MaxConcurrent int        `json:"max_concurrent"`
	Enabled       bool       `json:"enabled"`
	Overridden    bool       `json:"overridden"` // changed through the API since the last publish
	NextFireAt    *time.Time `json:"next_fire_at"`
	FiredCount    int64      `json:"fired_count"`
	SkippedCount  int64      `json:"skipped_count"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Ticks         []Tick     `json:"ticks"` // the latest first
}

// Tick is one fire time that came due and what became of it.
type Tick struct {
	FireAt     time.Time `json:"fire_at"`
	Outcome    string    `json:"outcome"`
	RunID      int64     `json:"run_id,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

func scheduleOf(row db.WorkflowSchedule) Schedule {
	s := Schedule{ID: row.ID, WorkflowID: row.WorkflowID, NodeID: row.NodeID, Kind: row.Kind, Cron: row.Cron,
		EverySeconds: int(row.EverySeconds), MaxCount: int(row.MaxCount), At: row.At,
		GraceSeconds: int(row.GraceSeconds), MaxConcurrent: int(row.MaxConcurrent), Enabled: row.Enabled,
		Overridden: row.Overridden, NextFireAt: row.NextFireAt, FiredCount: row.FiredCount, SkippedCount: row.SkippedCount,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, Ticks: []Tick{}}
	if row.Kind == ScheduleCron {
		s.TimeZone = row.Timezone
	}
	return s
}

// ScheduleSettings is what a user gives to set a schedule up through the
// API; omitted grace_seconds and max_concurrent take their defaults (900
// and 1), an omitted enabled is true.
type ScheduleSettings struct {
	Kind          string `json:"kind"`
	Cron          string `json:"cron"`
	TimeZone      string `json:"timezone"`
	EverySeconds  int    `json:"every_seconds"`
	MaxCount      int    `json:"max_count"`
	At            string `json:"at"`
	GraceSeconds  *int   `json:"grace_seconds"`
	MaxConcurrent *int   `json:"max_concurrent"`
	Enabled       *bool  `json:"enabled"`
}

// ScheduleInput makes the schedule of a published workflow's
// trigger_schedule node (node_id may be left out when it has one only).
type ScheduleInput struct {
	WorkflowID int64  `json:"workflow_id"`
	NodeID     string `json:"node_id"`
	ScheduleSettings
}

// config checks the settings as the node's configuration is checked; the
// first error names its field.
func (in ScheduleSettings) config(now time.Time) (*ScheduleConfig, bool, error) {
	c := &ScheduleConfig{Kind: in.Kind, Cron: in.Cron, TimeZone: in.TimeZone, EverySeconds: in.EverySeconds,
		MaxCount: in.MaxCount, At: in.At, GraceSeconds: 900, MaxConcurrent: 1}
	if in.GraceSeconds != nil {
		c.GraceSeconds = *in.GraceSeconds
	}
	if in.MaxConcurrent != nil {
		c.MaxConcurrent = *in.MaxConcurrent
	}
	if c.Kind == ScheduleCron && c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	ch := &Checker{}
	c.Check(ch)
	if len(ch.errors) > 0 {
		i := ch.errors[0]
		return nil, false, problem.Invalidf(i.Field, "%s: %s", i.Field, i.Message)
	}
	enabled := in.Enabled == nil || *in.Enabled
	if at := atOf(c); enabled && at != nil && !at.After(now) {
		return nil, false, problem.Invalidf("at", "at: %s has passed; give a time to come.", c.At)
	}
	return c, enabled, nil
}

// onPublish keeps the workflow's schedule rows in step with its published
// definition (def nil: the workflow stopped being published).
func (sc *Scheduler) onPublish(ctx context.Context, tx pgx.Tx, w *Workflow, def *Definition) error {
	q := db.New(tx)
	if def == nil {
		if _, err := q.WorkflowScheduleDisableAll(ctx, db.WorkflowScheduleDisableAllParams{CommunityID: w.CommunityID, WorkflowID: w.ID}); err != nil {
			return fmt.Errorf("turn off the schedules of workflow %d: %w", w.ID, err)
		}
		return nil
	}
	rows, err := q.WorkflowScheduleListForUpdate(ctx, db.WorkflowScheduleListForUpdateParams{CommunityID: w.CommunityID, WorkflowID: w.ID})
	if err != nil {
		return fmt.Errorf("load the schedules of workflow %d: %w", w.ID, err)
	}
	old := make(map[string]db.WorkflowSchedule, len(rows))
	for _, r := range rows {
		old[r.NodeID] = r
	}
	now := sc.now()
	keep := []string{}
	for _, n := range def.Nodes {
		if n.Type != scheduleType || n.Disabled {
			continue
		}
		c, err := scheduleConfigOf(n.Config)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.ID, err)
		}
		t, err := timingOf(c)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.ID, err)
		}
		keep = append(keep, n.ID)
		p := rowParams(w.CommunityID, w.ID, n.ID, c)
		if prev, ok := old[n.ID]; ok && prev.Enabled && sameTiming(prev, c) {
			p.Enabled, p.NextFireAt, p.FiredCount = true, prev.NextFireAt, prev.FiredCount
		} else if next, ok := t.first(now); ok {
			p.Enabled, p.NextFireAt = true, &next
		}
		if _, err := q.WorkflowScheduleUpsert(ctx, p); err != nil {
			return fmt.Errorf("store the schedule of node %s: %w", n.ID, err)
		}
	}
	if _, err := q.WorkflowScheduleDeleteMissing(ctx, db.WorkflowScheduleDeleteMissingParams{CommunityID: w.CommunityID, WorkflowID: w.ID, Keep: keep}); err != nil {
		return fmt.Errorf("drop the schedules of removed nodes: %w", err)
	}
	return nil
}

const scheduleType = "trigger_schedule"

func scheduleConfigOf(raw json.RawMessage) (*ScheduleConfig, error) {
	k, _ := KindOf(scheduleType)
	cfg, err := DecodeConfig(k, raw)
	if err != nil {
		return nil, err
	}
	c, ok := cfg.(*ScheduleConfig)
	if !ok {
		return nil, errors.New("not a schedule configuration")
	}
	return c, nil
}

func rowParams(cid, wid int64, node string, c *ScheduleConfig) db.WorkflowScheduleUpsertParams {
	tz := ""
	if c.Kind == ScheduleCron {
		tz = zoneOr(c.TimeZone)
	}
	return db.WorkflowScheduleUpsertParams{CommunityID: cid, WorkflowID: wid, NodeID: node, Kind: c.Kind, Cron: c.Cron,
		Timezone: tz, EverySeconds: int32(c.EverySeconds), MaxCount: int32(c.MaxCount), At: atOf(c),
		GraceSeconds: int32(c.GraceSeconds), MaxConcurrent: int32(c.MaxConcurrent)}
}

// CreateSchedule makes the schedule of a published workflow's
// trigger_schedule node that has none (one removed through the API).
func (sc *Scheduler) CreateSchedule(ctx context.Context, cid int64, by audit.Actor, in ScheduleInput) (*Schedule, error) {
	now := sc.now()
	c, enabled, err := in.config(now)
	if err != nil {
		return nil, err
	}
	t, err := timingOf(c)
	if err != nil {
		return nil, problem.Invalidf("kind", "kind: %v", err)
	}
	var out Schedule
	err = pgx.BeginFunc(ctx, sc.svc.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		w, err := publishedFor(ctx, q, cid, in.WorkflowID)
		if err != nil {
			return err
		}
		node, err := scheduleNode(ctx, q, w, in.NodeID)
		if err != nil {
			return err
		}
		p := rowParams(cid, w.ID, node, c)
		next, ok := t.first(now)
		if ok {
			p.NextFireAt = &next
		}
		row, err := q.WorkflowScheduleInsert(ctx, db.WorkflowScheduleInsertParams{CommunityID: cid, WorkflowID: w.ID, NodeID: node,
			Kind: p.Kind, Cron: p.Cron, Timezone: p.Timezone, EverySeconds: p.EverySeconds, MaxCount: p.MaxCount, At: p.At,
			GraceSeconds: p.GraceSeconds, MaxConcurrent: p.MaxConcurrent, Enabled: enabled && ok, NextFireAt: p.NextFireAt})
		if db.IsUniqueViolation(err) {
			return problem.New(problem.Conflict, "node_id: the trigger %q already has a schedule; change it with PUT /schedules/{id}.", node)
		}
		if err != nil {
			return fmt.Errorf("insert schedule: %w", err)
		}
		out = scheduleOf(row)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowSchedule, Target: w.Name + " / " + node,
			After: map[string]any{"schedule": out.ID, "kind": out.Kind, "enabled": out.Enabled}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// publishedFor loads a workflow that must be published, locked.
func publishedFor(ctx context.Context, q *db.Queries, cid, id int64) (db.Workflow, error) {
	w, err := lockWorkflow(ctx, q, cid, id)
	if err != nil {
		return w, err
	}
	if w.Status != StatusPublished {
		return w, problem.New(problem.Conflict, "The workflow is not published: a schedule starts runs of its published version, so publish it first.")
	}
	return w, nil
}

// scheduleNode finds the trigger_schedule node a schedule starts runs from
// in the published version (id empty: its only one).
func scheduleNode(ctx context.Context, q *db.Queries, w db.Workflow, id string) (string, error) {
	v, err := q.WorkflowVersionGet(ctx, db.WorkflowVersionGetParams{CommunityID: w.CommunityID, WorkflowID: w.ID, Version: w.Version})
	if err != nil {
		return "", fmt.Errorf("load version %d of workflow %d: %w", w.Version, w.ID, err)
	}
	var d Definition
	if err := json.Unmarshal(v.Definition, &d); err != nil {
		return "", fmt.Errorf("decode version %d of workflow %d: %w", w.Version, w.ID, err)
	}
	var found []string
	for _, n := range d.Nodes {
		if n.Type == scheduleType && !n.Disabled {
			if n.ID == id {
				return id, nil
			}
			found = append(found, n.ID)
		}
	}
	switch {
	case id != "":
		return "", problem.Invalidf("node_id", "node_id: the published workflow has no schedule trigger %q.", id)
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return "", problem.Invalidf("node_id", "node_id: the published workflow has no schedule trigger: add one and publish it.")
	}
	return "", problem.Invalidf("node_id", "node_id: the workflow has %d schedule triggers; name one.", len(found))
}

// GetSchedule returns a schedule of the community (without its ticks).
func (sc *Scheduler) GetSchedule(ctx context.Context, cid, id int64) (*Schedule, error) {
	row, err := db.New(sc.svc.read).WorkflowScheduleGet(ctx, db.WorkflowScheduleGetParams{CommunityID: cid, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrScheduleNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load schedule %d: %w", id, err)
	}
	s := scheduleOf(row)
	return &s, nil
}

// UpdateSchedule changes a schedule's settings until the workflow is
// published again. A change of timing starts it afresh from now.
func (sc *Scheduler) UpdateSchedule(ctx context.Context, cid, id int64, by audit.Actor, in ScheduleSettings) (*Schedule, error) {
	now := sc.now()
	c, enabled, err := in.config(now)
	if err != nil {
		return nil, err
	}
	t, err := timingOf(c)
	if err != nil {
		return nil, problem.Invalidf("kind", "kind: %v", err)
	}
	var out Schedule
	err = pgx.BeginFunc(ctx, sc.svc.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.WorkflowScheduleGetForUpdate(ctx, db.WorkflowScheduleGetForUpdateParams{CommunityID: cid, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrScheduleNotFound
		}
		if err != nil {
			return fmt.Errorf("load schedule %d: %w", id, err)
		}
		w, err := publishedFor(ctx, q, cid, old.WorkflowID)
		if err != nil && (enabled || !problem.Is(err, problem.Conflict)) {
			return err
		}
		p := rowParams(cid, old.WorkflowID, old.NodeID, c)
		next, fired := old.NextFireAt, old.FiredCount
		if !old.Enabled || !sameTiming(old, c) {
			next, fired = nil, 0
			if n, ok := t.first(now); ok {
				next = &n
			}
		}
		row, err := q.WorkflowScheduleUpdate(ctx, db.WorkflowScheduleUpdateParams{CommunityID: cid, ID: id,
			Kind: p.Kind, Cron: p.Cron, Timezone: p.Timezone, EverySeconds: p.EverySeconds, MaxCount: p.MaxCount, At: p.At,
			GraceSeconds: p.GraceSeconds, MaxConcurrent: p.MaxConcurrent, Enabled: enabled && next != nil, NextFireAt: next, FiredCount: fired})
		if err != nil {
			return fmt.Errorf("update schedule %d: %w", id, err)
		}
		out = scheduleOf(row)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowSchedule, Target: w.Name + " / " + old.NodeID,
			Before: map[string]any{"kind": old.Kind, "enabled": old.Enabled}, After: map[string]any{"kind": out.Kind, "enabled": out.Enabled}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule removes a schedule (and its ticks); publishing the workflow
// again makes it anew from its node.
func (sc *Scheduler) DeleteSchedule(ctx context.Context, cid, id int64, by audit.Actor) error {
	return pgx.BeginFunc(ctx, sc.svc.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.WorkflowScheduleGetForUpdate(ctx, db.WorkflowScheduleGetForUpdateParams{CommunityID: cid, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrScheduleNotFound
		}
		if err != nil {
			return fmt.Errorf("load schedule %d: %w", id, err)
		}
		if _, err := q.WorkflowScheduleDelete(ctx, db.WorkflowScheduleDeleteParams{CommunityID: cid, ID: id}); err != nil {
			return fmt.Errorf("delete schedule %d: %w", id, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowSchedule,
			Target: fmt.Sprintf("workflow %d / %s", old.WorkflowID, old.NodeID), Before: map[string]any{"schedule": id, "kind": old.Kind}})
	})
}

// ticksShown is how many ticks a listed schedule shows.
const ticksShown = 20

// ListSchedules returns a workflow's schedules with their latest ticks.
func (sc *Scheduler) ListSchedules(ctx context.Context, cid, wid int64) ([]Schedule, error) {
	q := db.New(sc.svc.read)
	rows, err := q.WorkflowScheduleList(ctx, db.WorkflowScheduleListParams{CommunityID: cid, WorkflowID: wid})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := make([]Schedule, 0, len(rows))
	for _, row := range rows {
		s := scheduleOf(row)
		ticks, err := q.WorkflowScheduleTickList(ctx, db.WorkflowScheduleTickListParams{CommunityID: cid, ScheduleID: row.ID, Limit: ticksShown})
		if err != nil {
			return nil, fmt.Errorf("list the ticks of schedule %d: %w", row.ID, err)
		}
		for _, t := range ticks {
			tk := Tick{FireAt: t.FireAt, Outcome: t.Outcome, RecordedAt: t.RecordedAt}
			if t.RunID != nil {
				tk.RunID = *t.RunID
			}
			s.Ticks = append(s.Ticks, tk)
		}
		out = append(out, s)
	}
	return out, nil
}
