package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Bounds of a moderator's reputation adjustment.
const (
	MaxReputationAdjust = 1000    // either way, per adjustment
	MaxReputation       = 1000000 // either way, the score itself
	MaxReputationReason = 500     // characters
)

// ReputationAdjust is a moderator's change to a person's reputation.
type ReputationAdjust struct {
	Delta  int
	Reason string
}

// Validate checks the change and trims its reason.
func (a *ReputationAdjust) Validate() error {
	if a.Delta == 0 || a.Delta < -MaxReputationAdjust || a.Delta > MaxReputationAdjust {
		return problem.Invalidf("delta", "Change the reputation by a whole number from -%d to %d, other than 0.", MaxReputationAdjust, MaxReputationAdjust)
	}
	a.Reason = strings.TrimSpace(a.Reason)
	switch {
	case a.Reason == "":
		return problem.Invalidf("reason", "Say why the reputation changes: the person's history shows it.")
	case !utf8.ValidString(a.Reason) || strings.IndexFunc(a.Reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return problem.Invalidf("reason", "The reason has characters a reason cannot hold.")
	case utf8.RuneCountInString(a.Reason) > MaxReputationReason:
		return problem.Invalidf("reason", "A reason has at most %d characters.", MaxReputationReason)
	}
	return nil
}

// reputationState is a reputation as the audit log records it.
type reputationState struct {
	Reputation int    `json:"reputation"`
	Reason     string `json:"reason,omitempty"`
}

// AdjustReputation changes the reputation of a person of the community by a
// moderator's hand, with a reason that goes into the person's history (as
// an "adjust" by the moderator) and the audit log, in one transaction. It
// returns the new reputation. A person the community does not know is
// ErrPersonNotFound; a change that would take the score beyond
// ±MaxReputation is refused.
func (s *Service) AdjustReputation(ctx context.Context, by audit.Actor, communityID, identityID int64, in ReputationAdjust) (int, error) {
	if err := in.Validate(); err != nil {
		return 0, err
	}
	var now int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		was, err := q.PersonLock(ctx, db.PersonLockParams{CommunityID: communityID, IdentityID: identityID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrPersonNotFound
		}
		if err != nil {
			return fmt.Errorf("lock person %d: %w", identityID, err)
		}
		now = int(was) + in.Delta
		if now < -MaxReputation || now > MaxReputation {
			return problem.Invalidf("delta", "That would take the reputation (%d) beyond ±%d.", was, MaxReputation)
		}
		if err := q.PersonReputationSet(ctx, db.PersonReputationSetParams{CommunityID: communityID, IdentityID: identityID, Reputation: int32(now)}); err != nil {
			return fmt.Errorf("set reputation: %w", err)
		}
		var actor *int64
		if by.UserID != 0 {
			actor = &by.UserID
		}
		if err := q.ReputationEventInsert(ctx, db.ReputationEventInsertParams{CommunityID: communityID, IdentityID: identityID,
			Action: "adjust", Delta: int32(in.Delta), Reason: in.Reason, ActorID: actor}); err != nil {
			return fmt.Errorf("record the adjustment: %w", err)
		}
		name, err := q.IdentityGet(ctx, identityID)
		if err != nil {
			return fmt.Errorf("read identity %d: %w", identityID, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ReputationAdjusted,
			Target: fmt.Sprintf("person %d (%s)", identityID, name.DisplayName),
			Before: reputationState{Reputation: int(was)}, After: reputationState{Reputation: now, Reason: in.Reason}})
	})
	if err != nil {
		return 0, err
	}
	return now, nil
}
