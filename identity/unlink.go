package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Detach takes an account out of its identity, in tx: the account gets a new
// identity of its own and starts fresh; the balance, labels, reputation and
// history stay with the identity it leaves. It returns the identity left
// behind. An account alone in its identity is ErrNotLinked.
func Detach(ctx context.Context, tx pgx.Tx, platform, accountID string) (int64, error) {
	q := db.New(tx)
	acc, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: platform, AccountID: accountID})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotLinked
	}
	if err != nil {
		return 0, fmt.Errorf("read account: %w", err)
	}
	accounts, err := q.IdentityAccountsLock(ctx, []int64{acc.IdentityID})
	if err != nil {
		return 0, fmt.Errorf("lock accounts: %w", err)
	}
	mine := false
	for _, a := range accounts {
		mine = mine || (a.Platform == platform && a.AccountID == accountID)
	}
	if !mine {
		return 0, fmt.Errorf("account %s %s moved while unlinking: %w", platform, accountID, errRetry)
	}
	if len(accounts) < 2 {
		id, err := q.IdentityGet(ctx, acc.IdentityID)
		if err != nil {
			return 0, fmt.Errorf("read identity: %w", err)
		}
		if id.UserID == nil {
			return 0, ErrNotLinked
		}
		// The last account of a hub user's identity: the user keeps the
		// identity (and its points); the account goes its own way.
	}
	fresh, err := q.IdentityCreate(ctx, db.IdentityCreateParams{DisplayName: acc.UserName, PrimaryPlatform: platform})
	if err != nil {
		return 0, fmt.Errorf("new identity: %w", err)
	}
	if err := q.IdentityAccountDetach(ctx, db.IdentityAccountDetachParams{NewID: fresh.ID, Platform: platform, AccountID: accountID}); err != nil {
		return 0, fmt.Errorf("detach account: %w", err)
	}
	if err := q.IdentityAccountsUnlinkedIfAlone(ctx, acc.IdentityID); err != nil {
		return 0, fmt.Errorf("mark the rest unlinked: %w", err)
	}
	return acc.IdentityID, nil
}

// errRetry: the account changed identity under us; the caller may retry.
var errRetry = errors.New("try again")
