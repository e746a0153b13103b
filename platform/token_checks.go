package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/runes"
)

// TokenCheck is what the last check of a stored token found.
type TokenCheck struct {
	Subject        string // the linked server, or BotSubject
	AccountLogin   string
	NeedsReconnect string    // why the platform refuses the token; "" when it accepts it
	MissingScopes  []string  // scopes the bot asks for that the token lacks
	CheckedAt      time.Time // zero: not checked since it was stored
}

// Checked records that the platform accepted tok (as returned by Get) with
// these scopes, account and expiry; missing are the scopes the bot needs
// that it lacks. A token replaced since Get is left alone.
func (t *Tokens) Checked(ctx context.Context, platform, subject string, tok Token, missing []string) error {
	scopes := tok.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	if missing == nil {
		missing = []string{}
	}
	var expires *time.Time
	if !tok.Expires.IsZero() {
		expires = &tok.Expires
	}
	if _, err := db.New(t.pool).TokenChecked(ctx, db.TokenCheckedParams{
		Platform: platform, Subject: subject, AccessSealed: tok.sealed, Scopes: scopes, MissingScopes: missing,
		AccountID: tok.AccountID, AccountLogin: tok.AccountLogin, ExpiresAt: expires,
	}); err != nil {
		return fmt.Errorf("record the check of the %s token of %q: %w", platform, subject, err)
	}
	return nil
}

// MarkNeedsReconnect records that the platform refuses tok (as returned by
// Get) for reason, a sentence for the hub. It reports false when the token
// was replaced since Get (its owner connected again): then nothing changes.
func (t *Tokens) MarkNeedsReconnect(ctx context.Context, platform, subject string, tok Token, reason string) (bool, error) {
	n, err := db.New(t.pool).TokenMarkNeedsReconnect(ctx, db.TokenMarkNeedsReconnectParams{
		Platform: platform, Subject: subject, AccessSealed: tok.sealed, Reason: runes.Truncate(reason, 500, "…"),
	})
	if err != nil {
		return false, fmt.Errorf("mark the %s token of %q as needing a reconnect: %w", platform, subject, err)
	}
	return n == 1, nil
}

// Checks lists the last check of every stored token of platform.
func (t *Tokens) Checks(ctx context.Context, platform string) ([]TokenCheck, error) {
	rows, err := db.New(t.pool).TokenCheckList(ctx, platform)
	if err != nil {
		return nil, fmt.Errorf("list the %s token checks: %w", platform, err)
	}
	out := make([]TokenCheck, 0, len(rows))
	for _, r := range rows {
		c := TokenCheck{Subject: r.Subject, AccountLogin: r.AccountLogin, NeedsReconnect: r.NeedsReconnect, MissingScopes: r.MissingScopes}
		if r.ValidatedAt != nil {
			c.CheckedAt = *r.ValidatedAt
		}
		out = append(out, c)
	}
	return out, nil
}

// CommunityChecks returns the last check of the token of each of the
// community's linked servers that has one, by entity id.
func (t *Tokens) CommunityChecks(ctx context.Context, communityID int64) (map[int64]TokenCheck, error) {
	rows, err := db.New(t.pool).TokenCheckListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list the token checks of community %d: %w", communityID, err)
	}
	out := make(map[int64]TokenCheck, len(rows))
	for _, r := range rows {
		c := TokenCheck{NeedsReconnect: r.NeedsReconnect, MissingScopes: r.MissingScopes}
		if r.ValidatedAt != nil {
			c.CheckedAt = *r.ValidatedAt
		}
		out[r.EntityID] = c
	}
	return out, nil
}
