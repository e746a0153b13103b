package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// A hub user (a person with a hub account) links their own platform accounts
// from the account page, signing in with each platform (OAuth). Their
// identity is then the same in every community: the accounts' balances,
// labels and reputation join it.

// Link is one of a hub user's linked platform accounts.
type Link struct {
	Account
	LinkedAt time.Time // zero: not recorded (an account alone in its identity)
	LinkedBy string    // "oauth", "chat" or ""
}

// HubLinked is what LinkHub did.
type HubLinked struct {
	Merged
	// Already: the account was already the user's; nothing changed.
	Already bool
}

// ErrNoHubLink: the user has no linked account of that kind.
var ErrNoHubLink = problem.New(problem.NotFound, "That account is not linked to you (any more).")

// LinkHub makes acc one of hub user userID's accounts, in one transaction:
// the user's identity (created when they have none), the account's row,
// then the merge of the account's identity into the user's, which carries
// its balances, labels and reputation over. An account in another hub user's
// identity is ErrOtherHubUser, which does not say whose; an account whose
// platform the user already has another account of is ErrSamePlatform.
func (s *Service) LinkHub(ctx context.Context, actor audit.Actor, userID int64, acc Account) (HubLinked, error) {
	if err := checkAccount(acc); err != nil {
		return HubLinked{}, err
	}
	var out HubLinked
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.IdentityCreateForUser(ctx, db.IdentityCreateForUserParams{UserID: userID, DisplayName: acc.Name, PrimaryPlatform: acc.Platform}); err != nil {
			return fmt.Errorf("the user's identity: %w", err)
		}
		mine, err := q.IdentityByUser(ctx, &userID)
		if err != nil {
			return fmt.Errorf("read the user's identity: %w", err)
		}
		row, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: acc.Platform, AccountID: acc.ID, UserName: acc.Name})
		if err != nil {
			return fmt.Errorf("record account: %w", err)
		}
		if row.IdentityID == mine.ID {
			out = HubLinked{Merged: Merged{Into: mine.ID, From: mine.ID}, Already: true}
			return nil
		}
		m, err := Merge(ctx, tx, mine.ID, row.IdentityID, "oauth")
		if err != nil {
			return err
		}
		out = HubLinked{Merged: m}
		return audit.Record(ctx, tx, actor, audit.Entry{Action: audit.AccountLinked, Target: accountTarget(acc),
			After: map[string]any{"platform": acc.Platform, "account_id": acc.ID, "name": acc.Name, "identity": m.Into}})
	})
	if err != nil {
		return HubLinked{}, fmt.Errorf("link %s account %s to hub user %d: %w", acc.Platform, acc.ID, userID, err)
	}
	if !out.Already {
		s.invalidate(ctx, out.Into, out.From)
	}
	if s.onSeen != nil {
		if err := s.onSeen(ctx, []Sighting{{Platform: acc.Platform, AccountID: acc.ID, Name: acc.Name}}); err != nil {
			s.logger.WarnContext(ctx, "linked account not passed on", "err", err)
		}
	}
	s.logger.InfoContext(ctx, "hub user linked an account", "user", userID, "platform", acc.Platform, "account", acc.ID,
		"identity", out.Into, "absorbed", out.From, "already", out.Already)
	return out, nil
}

// UnlinkHub takes the user's account (platform, accountID) out of their
// identity: the account starts fresh on its own, while the balance, labels
// and history stay with the user. ErrNoHubLink when it is not theirs.
func (s *Service) UnlinkHub(ctx context.Context, actor audit.Actor, userID int64, platform, accountID string) (Account, error) {
	var acc Account
	var left int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		mine, err := q.IdentityByUser(ctx, &userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoHubLink
		}
		if err != nil {
			return fmt.Errorf("read the user's identity: %w", err)
		}
		row, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: platform, AccountID: accountID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoHubLink
		}
		if err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		if row.IdentityID != mine.ID {
			return ErrNoHubLink
		}
		acc = Account{Platform: row.Platform, ID: row.AccountID, Name: row.UserName}
		if left, err = Detach(ctx, tx, platform, accountID); err != nil {
			if errors.Is(err, ErrNotLinked) {
				return ErrNoHubLink
			}
			return err
		}
		return audit.Record(ctx, tx, actor, audit.Entry{Action: audit.AccountUnlinked, Target: accountTarget(acc),
			Before: map[string]any{"platform": acc.Platform, "account_id": acc.ID, "name": acc.Name, "identity": mine.ID}})
	})
	if err != nil {
		return Account{}, fmt.Errorf("unlink %s account %s from hub user %d: %w", platform, accountID, userID, err)
	}
	s.invalidate(ctx, left)
	s.logger.InfoContext(ctx, "hub user unlinked an account", "user", userID, "platform", platform, "account", accountID)
	return acc, nil
}

// HubLinks lists the platform accounts in hub user userID's identity, by
// platform; none when the user never linked one.
func (s *Service) HubLinks(ctx context.Context, userID int64) ([]Link, error) {
	rows, err := db.New(s.pool).IdentityAccountsOfUser(ctx, &userID)
	if err != nil {
		return nil, fmt.Errorf("list hub user %d's accounts: %w", userID, err)
	}
	out := make([]Link, 0, len(rows))
	for _, r := range rows {
		l := Link{Account: Account{Platform: r.Platform, ID: r.AccountID, Name: r.UserName}, LinkedBy: r.LinkedBy}
		if r.LinkedAt != nil {
			l.LinkedAt = *r.LinkedAt
		}
		out = append(out, l)
	}
	return out, nil
}

// checkAccount refuses an account a platform would not have given.
func checkAccount(acc Account) error {
	if _, ok := PlatformName(acc.Platform); !ok {
		return problem.Invalidf("platform", "Unknown platform %q.", acc.Platform)
	}
	if acc.ID == "" || len(acc.ID) > 100 {
		return problem.Invalidf("account", "The platform named no account (or an id longer than 100 characters).")
	}
	return nil
}

// accountTarget names an account in the audit trail.
func accountTarget(acc Account) string {
	name, _ := PlatformName(acc.Platform)
	return fmt.Sprintf("%s %s (id %s)", name, acc.Name, acc.ID)
}
