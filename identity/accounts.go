package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Accounts lists the accounts of the identity the account belongs to, the
// account itself included. It writes nothing.
func (s *Service) Accounts(ctx context.Context, who Account) ([]Account, error) {
	q := db.New(s.pool)
	me, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: who.Platform, AccountID: who.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		return []Account{who}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record the account: %w", err)
	}
	rows, err := q.IdentityAccountsOf(ctx, me.IdentityID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out := make([]Account, 0, len(rows))
	for _, r := range rows {
		out = append(out, Account{Platform: r.Platform, ID: r.AccountID, Name: r.UserName})
	}
	return out, nil
}

// Unlinked is what an unlink did.
type Unlinked struct {
	Account Account // the account that left, now alone with 0 points
	Left    int64   // the identity it left, which keeps the balance
}

// Unlink takes the speaking account's linked account on platform out of
// its identity: that account starts fresh; the balance, labels and history
// stay with the identity. Every instance's cache drops the identity.
func (s *Service) Unlink(ctx context.Context, who Account, platform string) (Unlinked, error) {
	platform = strings.ToLower(strings.TrimSpace(platform))
	pname, ok := PlatformName(platform)
	if !ok {
		return Unlinked{}, problem.Invalidf("platform", "Unknown platform %q: unlink a twitch, discord or slack account.", runeCut(platform, 20))
	}
	accs, err := s.Accounts(ctx, who)
	if err != nil {
		return Unlinked{}, err
	}
	var target *Account
	for i := range accs {
		if accs[i].Platform == platform {
			target = &accs[i]
		}
	}
	if target == nil || len(accs) < 2 {
		return Unlinked{}, problem.New(problem.NotFound, "You have no %s account linked to this one.", pname)
	}
	var left int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		left, err = Detach(ctx, tx, target.Platform, target.ID)
		return err
	})
	if problem.As(err) != nil {
		return Unlinked{}, err
	}
	if err != nil {
		return Unlinked{}, fmt.Errorf("unlink %s account: %w", platform, err)
	}
	s.invalidate(ctx, left)
	return Unlinked{Account: *target, Left: left}, nil
}
