package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/secret"
)

// Settings edits a community's router configuration (prefix, commands,
// aliases, moderation rules, points values, remote modules, linked servers)
// and lists what the hub shows. Each change is stored with its audit record in
// one transaction, then drops the cached snapshots of the community on this
// instance's engine and, through Redis, on every other instance.
type Settings struct {
	*cache
	pool *pgxpool.Pool
	exec *executor.Client
	box  *secret.Box
	reg  *registry
	// usage is command use by community for the day, to rank slash commands.
	usage *usageCache
}

// NewSettings returns the configuration service that shares engine's cache.
func NewSettings(engine *Router) *Settings {
	return &Settings{cache: engine.cache, pool: engine.pool, exec: engine.exec, box: engine.box, reg: engine.reg, usage: &usageCache{}}
}

// Prefixes a community may choose for local commands.
var Prefixes = []string{"!", "?", "~", "$", "%", "&", ".", ",", "+", "=", ">"}

type prefixState struct {
	Prefix string `json:"prefix"`
}

// PointsValue is what one event kind earns in a community.
type PointsValue struct {
	Key     string // platform.kind
	Points  int64
	Default int64
	Custom  bool
}

type pointsState struct {
	Points int64 `json:"points"`
}

// Execution is one recorded command execution.
type Execution struct {
	ID       int64
	Command  string
	Platform string
	User     string
	Args     string
	Executor string
	Outcome  string
	Duration time.Duration
	Error    string
	At       time.Time
}

// ExecutionFilter narrows the execution log; zero fields do not filter.
type ExecutionFilter struct {
	Command, User, Outcome string
	BeforeID               int64
	Limit                  int
}

// Outcomes of an execution.
var Outcomes = []string{"ok", "denied", "rate_limited", "refused", "error"}

// SetPrefix changes a community's command prefix, recording who did it in the audit log.
func (st *Settings) SetPrefix(ctx context.Context, by audit.Actor, communityID int64, prefix string) error {
	ok := false
	for _, p := range Prefixes {
		ok = ok || p == prefix
	}
	if !ok {
		return problem.Invalidf("prefix", "Choose one of %s as the prefix.", strings.Join(Prefixes, " "))
	}
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.CommunityPrefixForUpdate(ctx, communityID)
		if err != nil || old == prefix {
			return err // or saved unchanged: nothing to change or record
		}
		if err := q.CommunitySetPrefix(ctx, db.CommunitySetPrefixParams{ID: communityID, CommandPrefix: prefix}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.PrefixChanged, Target: "command prefix",
			Before: prefixState{old}, After: prefixState{prefix}})
	})
	if err != nil {
		return fmt.Errorf("set prefix: %w", err)
	}
	st.invalidate(ctx, communityID)
	return nil
}

// Prefix returns a community's command prefix.
func (st *Settings) Prefix(ctx context.Context, communityID int64) (string, error) {
	s, err := st.snapshot(ctx, communityID)
	if err != nil {
		return "", err
	}
	return s.prefix, nil
}

// Rules lists a community's moderation rules in the order they are checked.
func (st *Settings) Rules(ctx context.Context, communityID int64) ([]Rule, error) {
	rows, err := db.New(st.pool).ModerationRuleListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out := make([]Rule, 0, len(rows))
	for _, row := range rows {
		out = append(out, toRule(row))
	}
	return out, nil
}

// PointsValues lists every event's points for a community, defaults and overrides.
func (st *Settings) PointsValues(ctx context.Context, communityID int64) ([]PointsValue, error) {
	rows, err := db.New(st.pool).PointsValuesByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list points values: %w", err)
	}
	custom := map[string]int64{}
	for _, row := range rows {
		custom[row.Key] = int64(row.Points)
	}
	out := make([]PointsValue, 0, len(DefaultPoints))
	for k, def := range DefaultPoints {
		v, ok := custom[k]
		if !ok {
			v = def
		}
		out = append(out, PointsValue{Key: k, Points: v, Default: def, Custom: ok})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// SetPointsValue changes what an event earns, recording who did it in the
// audit log; setting the default removes the override.
func (st *Settings) SetPointsValue(ctx context.Context, by audit.Actor, communityID int64, key string, points int64) error {
	def, ok := DefaultPoints[key]
	if !ok {
		return problem.Invalidf("key", "Unknown event %q.", key)
	}
	if points < -100000 || points > 100000 {
		return problem.Invalidf("points", "Points are between -100000 and 100000.")
	}
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old := def
		n, err := q.PointsValueGet(ctx, db.PointsValueGetParams{CommunityID: communityID, Key: key})
		switch {
		case err == nil:
			old = int64(n)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if old == points {
			return nil // saved unchanged: nothing to change or record
		}
		if points == def {
			err = q.PointsValueDelete(ctx, db.PointsValueDeleteParams{CommunityID: communityID, Key: key})
		} else {
			err = q.PointsValueSet(ctx, db.PointsValueSetParams{CommunityID: communityID, Key: key, Points: int32(points)})
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.PointsValueChanged, Target: "points for " + key,
			Before: pointsState{old}, After: pointsState{points}})
	})
	if err != nil {
		return fmt.Errorf("set points of %s: %w", key, err)
	}
	st.invalidate(ctx, communityID)
	return nil
}

// Executions returns a page of the execution log, newest first.
func (st *Settings) Executions(ctx context.Context, communityID int64, f ExecutionFilter) ([]Execution, error) {
	p := db.CommandExecutionListParams{CommunityID: communityID, MaxRows: int32(min(max(f.Limit, 0), 200))}
	if p.MaxRows == 0 {
		p.MaxRows = 50
	}
	if f.Command != "" {
		p.Command = &f.Command
	}
	if f.User != "" {
		u := db.EscapeLike(f.User)
		p.UserName = &u
	}
	if f.Outcome != "" {
		p.Outcome = &f.Outcome
	}
	if f.BeforeID > 0 {
		p.BeforeID = &f.BeforeID
	}
	rows, err := db.New(st.read).CommandExecutionList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	out := make([]Execution, 0, len(rows))
	for _, x := range rows {
		out = append(out, Execution{ID: x.ID, Command: x.Command, Platform: x.Platform, User: x.UserName, Args: x.Args, Executor: x.Executor,
			Outcome: x.Outcome, Duration: time.Duration(x.DurationUs) * time.Microsecond, Error: x.Error, At: x.CreatedAt})
	}
	return out, nil
}

// AddPoints records a change in the ledger and the balance together, and
// returns the new balance; ErrBalanceLimit when it would pass MaxBalance.
func (st *Settings) AddPoints(ctx context.Context, communityID int64, platform, userID, userName string, delta int64, reason string) (int64, error) {
	return addPoints(ctx, db.New(st.pool), communityID, platform, userID, userName, delta, reason)
}

// Leaderboard returns the top n of a community by points.
func (st *Settings) Leaderboard(ctx context.Context, communityID int64, n int) ([]Standing, error) {
	return leaderboard(ctx, db.New(st.read), communityID, n)
}

// LeaderboardBy returns the top n of a community by points or by watch time.
func (st *Settings) LeaderboardBy(ctx context.Context, communityID int64, by Ranking, n int) ([]Standing, error) {
	return rankedLeaderboard(ctx, db.New(st.read), communityID, by, n)
}
