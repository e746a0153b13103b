package router

import (
	"context"
	"fmt"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/runes"
)

// ReputationDelta is what a moderation action does to the reputation of the
// person moderated, in the community where it happened: a warning costs 5, a
// timeout 10, a ban 50. A deleted message costs nothing but is kept in the
// person's moderation history.
var ReputationDelta = map[string]int32{ActionWarn: -5, ActionTimeout: -10, ActionBan: -50, ActionDelete: 0}

// maxReputationReason bounds the reason stored with a reputation event.
const maxReputationReason = 500

// repute records a moderation action on the event's author in the event's
// transaction: their reputation in the community changes by the action's
// delta, and the action, with reason, joins their moderation history. A dry
// run and a simulated event record nothing.
func (h *handling) repute(ctx context.Context, m Moderation, reason string) error {
	delta, ok := ReputationDelta[m.Action]
	if !ok || h.dry || h.by != nil || h.ev.User.ID == "" {
		return nil
	}
	q, err := h.writer(ctx)
	if err != nil {
		return err
	}
	row, err := q.ReputationRecord(ctx, db.ReputationRecordParams{
		Platform: h.ev.Platform, AccountID: h.ev.User.ID, UserName: h.ev.User.Shown(), CommunityID: h.s.communityID,
		Delta: delta, Action: m.Action, Reason: runes.Truncate(reason, maxReputationReason, "…"),
	})
	if err != nil {
		return fmt.Errorf("record %s of %s %s: %w", m.Action, h.ev.Platform, h.ev.User.ID, err)
	}
	h.changed("reputation of %s %+d (%s), now %d", h.ev.User.Shown(), delta, m.Action, row.Reputation)
	return nil
}

// reputeResponses records the moderation actions that commands and modules
// answered the event with (a rule's is recorded by moderate).
func (h *handling) reputeResponses(ctx context.Context) error {
	for _, r := range h.res.Responses {
		if r.Moderation == nil {
			continue
		}
		reason := r.Moderation.Reason
		if h.res.HandledBy != "" {
			reason = h.res.HandledBy + ": " + reason
			if r.Moderation.Reason == "" {
				reason = h.res.HandledBy
			}
		}
		if err := h.repute(ctx, *r.Moderation, reason); err != nil {
			return err
		}
	}
	return nil
}
