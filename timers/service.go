package timers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Service reads and edits a community's timers. Every query filters by the
// community in SQL.
type Service struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// Config builds a Service.
type Config struct {
	Pool *pgxpool.Pool
	Now  func() time.Time // the clock; nil: time.Now
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{pool: cfg.Pool, now: cfg.Now}
}

// List returns the community's timers by name.
func (s *Service) List(ctx context.Context, communityID int64) ([]Timer, error) {
	rows, err := db.New(s.pool).TimerListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list timers: %w", err)
	}
	out := make([]Timer, len(rows))
	for i, r := range rows {
		out[i] = timerOf(r)
	}
	return out, nil
}

// Get returns one of the community's timers.
func (s *Service) Get(ctx context.Context, communityID, id int64) (Timer, error) {
	r, err := db.New(s.pool).TimerGet(ctx, db.TimerGetParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Timer{}, ErrNotFound
	}
	if err != nil {
		return Timer{}, fmt.Errorf("load timer %d: %w", id, err)
	}
	return timerOf(r), nil
}

// Targets lists the linked servers a timer of the community may post in.
func (s *Service) Targets(ctx context.Context, communityID int64) ([]Target, error) {
	return targetsOf(ctx, db.New(s.pool), communityID)
}

func targetsOf(ctx context.Context, q *db.Queries, communityID int64) ([]Target, error) {
	rows, err := q.EntityListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list linked servers: %w", err)
	}
	out := make([]Target, len(rows))
	for i, e := range rows {
		out[i] = Target{Platform: e.Platform, Server: e.Server, Name: e.Name}
	}
	return out, nil
}

// Create adds a timer; an enabled one first fires one interval from now.
func (s *Service) Create(ctx context.Context, by audit.Actor, communityID int64, in Input) (Timer, error) {
	var out Timer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := s.check(ctx, q, communityID, &in); err != nil {
			return err
		}
		r, err := q.TimerInsert(ctx, db.TimerInsertParams{CommunityID: communityID, Name: in.Name, Message: in.Message,
			Platform: in.Platform, Server: in.Server, Channel: in.Channel, IntervalMinutes: int32(in.IntervalMinutes),
			MinLines: int32(in.MinLines), OnlyLive: in.OnlyLive, Enabled: in.Enabled, NextFireAt: s.first(in.Enabled, in.IntervalMinutes)})
		if err != nil {
			return nameTaken(err, in.Name)
		}
		out = timerOf(r)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.TimerCreated, Target: target(out), After: auditOf(out)})
	})
	if err != nil {
		return Timer{}, err
	}
	return out, nil
}

// Update changes a timer. A new interval, or turning it on, starts its
// count again from now; otherwise it keeps its next fire time.
func (s *Service) Update(ctx context.Context, by audit.Actor, communityID, id int64, in Input) (Timer, error) {
	var out Timer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.TimerGetForUpdate(ctx, db.TimerGetForUpdateParams{CommunityID: communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load timer %d: %w", id, err)
		}
		if err := s.check(ctx, q, communityID, &in); err != nil {
			return err
		}
		next := old.NextFireAt
		if !old.Enabled || next == nil || int(old.IntervalMinutes) != in.IntervalMinutes || !in.Enabled {
			next = s.first(in.Enabled, in.IntervalMinutes)
		}
		r, err := q.TimerUpdate(ctx, db.TimerUpdateParams{CommunityID: communityID, ID: id, Name: in.Name, Message: in.Message,
			Platform: in.Platform, Server: in.Server, Channel: in.Channel, IntervalMinutes: int32(in.IntervalMinutes),
			MinLines: int32(in.MinLines), OnlyLive: in.OnlyLive, Enabled: in.Enabled, NextFireAt: next})
		if err != nil {
			return nameTaken(err, in.Name)
		}
		out = timerOf(r)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.TimerUpdated, Target: target(out),
			Before: auditOf(timerOf(old)), After: auditOf(out)})
	})
	if err != nil {
		return Timer{}, err
	}
	return out, nil
}

// SetEnabled turns a timer on (its first fire time one interval from now)
// or off.
func (s *Service) SetEnabled(ctx context.Context, by audit.Actor, communityID, id int64, enabled bool) (Timer, error) {
	var out Timer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.TimerGetForUpdate(ctx, db.TimerGetForUpdateParams{CommunityID: communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load timer %d: %w", id, err)
		}
		if old.Enabled == enabled {
			out = timerOf(old)
			return nil
		}
		p := db.TimerUpdateParams{CommunityID: communityID, ID: id, Name: old.Name, Message: old.Message,
			Platform: old.Platform, Server: old.Server, Channel: old.Channel, IntervalMinutes: old.IntervalMinutes,
			MinLines: old.MinLines, OnlyLive: old.OnlyLive, Enabled: enabled, NextFireAt: s.first(enabled, int(old.IntervalMinutes))}
		r, err := q.TimerUpdate(ctx, p)
		if err != nil {
			return fmt.Errorf("turn timer %d on or off: %w", id, err)
		}
		out = timerOf(r)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.TimerUpdated, Target: target(out),
			Before: map[string]bool{"enabled": old.Enabled}, After: map[string]bool{"enabled": enabled}})
	})
	if err != nil {
		return Timer{}, err
	}
	return out, nil
}

// Delete removes a timer and its ticks.
func (s *Service) Delete(ctx context.Context, by audit.Actor, communityID, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).TimerDelete(ctx, db.TimerDeleteParams{CommunityID: communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete timer %d: %w", id, err)
		}
		t := timerOf(r)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.TimerDeleted, Target: target(t), Before: auditOf(t)})
	})
}

// first is an enabled timer's first fire time, one interval from now.
func (s *Service) first(enabled bool, minutes int) *time.Time {
	if !enabled {
		return nil
	}
	t := s.now().Truncate(time.Second).Add(time.Duration(minutes) * time.Minute).UTC()
	return &t
}

// check trims and validates in, naming the field at fault; the target must
// be one of the community's linked servers.
func (s *Service) check(ctx context.Context, q *db.Queries, communityID int64, in *Input) error {
	in.Name, in.Message = strings.TrimSpace(in.Name), strings.TrimSpace(in.Message)
	in.Platform, in.Server, in.Channel = strings.TrimSpace(in.Platform), strings.TrimSpace(in.Server), strings.TrimSpace(in.Channel)
	switch n := utf8.RuneCountInString(in.Name); {
	case !utf8.ValidString(in.Name) || n < 1 || n > MaxName:
		return problem.Invalidf("name", "A timer's name has 1 to %d characters.", MaxName)
	}
	switch n := utf8.RuneCountInString(in.Message); {
	case !utf8.ValidString(in.Message) || n < 1 || n > MaxMessage:
		return problem.Invalidf("message", "The message has 1 to %d characters.", MaxMessage)
	}
	if in.IntervalMinutes < MinInterval || in.IntervalMinutes > MaxInterval {
		return problem.Invalidf("interval_minutes", "The interval is %d to %d minutes.", MinInterval, MaxInterval)
	}
	if in.MinLines < 0 || in.MinLines > MaxMinLines {
		return problem.Invalidf("min_lines", "The chat lines required are 0 to %d.", MaxMinLines)
	}
	if in.Platform != "twitch" && in.Platform != "discord" && in.Platform != "slack" {
		return problem.Invalidf("platform", "Choose the platform: twitch, discord or slack.")
	}
	if in.Platform == "twitch" {
		in.Server = strings.ToLower(in.Server)
	}
	targets, err := targetsOf(ctx, q, communityID)
	if err != nil {
		return err
	}
	linked := false
	for _, t := range targets {
		linked = linked || (t.Platform == in.Platform && t.Server == in.Server)
	}
	if !linked {
		return problem.Invalidf("server", "Choose one of this community's linked channels.")
	}
	if in.Platform == "twitch" {
		in.Channel = in.Server // a Twitch channel has one chat
		return nil
	}
	if in.Channel == "" || len(in.Channel) > maxChannel || strings.ContainsFunc(in.Channel, unicode.IsSpace) || !utf8.ValidString(in.Channel) {
		return problem.Invalidf("channel", "Give the id of the channel to post in (1 to %d characters, no spaces).", maxChannel)
	}
	return nil
}

func nameTaken(err error, name string) error {
	if db.IsUniqueViolation(err) {
		return problem.Invalidf("name", "A timer named %q exists already.", name)
	}
	return fmt.Errorf("save timer %q: %w", name, err)
}

func target(t Timer) string { return fmt.Sprintf("timer %q (%d)", t.Name, t.ID) }

// timerAudit is what the audit log keeps of a timer.
type timerAudit struct {
	Name            string `json:"name"`
	Message         string `json:"message"`
	Platform        string `json:"platform"`
	Server          string `json:"server"`
	Channel         string `json:"channel"`
	IntervalMinutes int    `json:"interval_minutes"`
	MinLines        int    `json:"min_lines"`
	OnlyLive        bool   `json:"only_live"`
	Enabled         bool   `json:"enabled"`
}

func auditOf(t Timer) timerAudit {
	return timerAudit{Name: t.Name, Message: t.Message, Platform: t.Platform, Server: t.Server, Channel: t.Channel,
		IntervalMinutes: t.IntervalMinutes, MinLines: t.MinLines, OnlyLive: t.OnlyLive, Enabled: t.Enabled}
}
