package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// CreateRule adds a moderation rule after checking it compiles, recording who
// did it in the audit log.
func (st *Settings) CreateRule(ctx context.Context, by audit.Actor, communityID int64, in RuleInput) (Rule, error) {
	if err := in.validate(); err != nil {
		return Rule{}, err
	}
	var row db.ModerationRule
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		var err error
		row, err = db.New(tx).ModerationRuleCreate(ctx, db.ModerationRuleCreateParams{CommunityID: communityID, Priority: int32(in.Priority),
			MatchKind: in.Match, Pattern: in.Pattern, Action: in.Action, Response: in.Response, TimeoutSeconds: int32(in.TimeoutSeconds),
			ExemptModerators: in.ExemptModerators, ExemptSubscribers: in.ExemptSubscribers, Enabled: true})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.RuleCreated, Target: ruleTarget(row),
			After: ruleStateOf(row)})
	})
	if err != nil {
		return Rule{}, fmt.Errorf("create rule: %w", err)
	}
	st.invalidate(ctx, communityID)
	return toRule(row), nil
}

// DeleteRule removes a rule, recording who did it in the audit log.
func (st *Settings) DeleteRule(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).ModerationRuleRemove(ctx, db.ModerationRuleRemoveParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.RuleDeleted, Target: ruleTarget(row),
			Before: ruleStateOf(row)})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrRuleNotFound
	}
	if err != nil {
		return fmt.Errorf("delete rule %d: %w", id, err)
	}
	st.invalidate(ctx, communityID)
	return nil
}

// validate trims and checks a rule as a user wrote it, compiling its pattern.
func (in *RuleInput) validate() error {
	in.Pattern = strings.TrimSpace(in.Pattern)
	if in.Priority < -1_000_000 || in.Priority > 1_000_000 {
		return problem.Invalidf("priority", "A priority is between -1000000 and 1000000.")
	}
	if in.Pattern == "" || len(in.Pattern) > 500 {
		return problem.Invalidf("pattern", "A pattern has 1 to 500 characters.")
	}
	switch in.Action {
	case ActionReply, ActionWarn, ActionDelete, ActionBan:
	case ActionTimeout:
		if in.TimeoutSeconds < 1 || in.TimeoutSeconds > 1209600 {
			return problem.Invalidf("timeout_seconds", "A timeout lasts 1 second to 14 days.")
		}
	default:
		return problem.Invalidf("action", "Choose an action: reply, warn, delete, timeout or ban.")
	}
	if in.Action == ActionReply && strings.TrimSpace(in.Response) == "" {
		return problem.Invalidf("response", "An auto-response needs the text to answer.")
	}
	if len(in.Response) > 500 {
		return problem.Invalidf("response", "A response has at most 500 characters.")
	}
	if _, err := compileRule(*in); err != nil {
		return err
	}
	return nil
}

// UpdateRule changes a moderation rule, including whether it is enabled (a
// disabled rule is kept but not checked), recording who did it and what
// changed in the audit log.
func (st *Settings) UpdateRule(ctx context.Context, by audit.Actor, communityID, id int64, in RuleInput) (Rule, error) {
	if err := in.validate(); err != nil {
		return Rule{}, err
	}
	var row db.ModerationRule
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.ModerationRuleGetForUpdate(ctx, db.ModerationRuleGetForUpdateParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		row, err = q.ModerationRuleUpdate(ctx, db.ModerationRuleUpdateParams{CommunityID: communityID, ID: id, Priority: int32(in.Priority),
			MatchKind: in.Match, Pattern: in.Pattern, Action: in.Action, Response: in.Response, TimeoutSeconds: int32(in.TimeoutSeconds),
			ExemptModerators: in.ExemptModerators, ExemptSubscribers: in.ExemptSubscribers, Enabled: in.Enabled})
		if err != nil {
			return err
		}
		before, after := ruleStateOf(old), ruleStateOf(row)
		if before == after {
			return nil // saved unchanged: nothing to record
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.RuleUpdated, Target: ruleTarget(row),
			Before: before, After: after})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Rule{}, ErrRuleNotFound
	}
	if err != nil {
		return Rule{}, fmt.Errorf("update rule %d: %w", id, err)
	}
	st.invalidate(ctx, communityID)
	return toRule(row), nil
}

// ErrRuleNotFound is returned for a rule the community does not have.
var ErrRuleNotFound = problem.New(problem.NotFound, "No such rule.")
