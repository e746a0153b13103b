package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Linked is what a verified code did.
type Linked struct {
	Merged
	Accounts []Account // the person's accounts now
	Balance  int64     // their balance in the community
}

// Errors of a verification.
var (
	ErrNoCode = problem.New(problem.NotFound, "You have no live code: a code lives 10 minutes and dies after 5 wrong tries. Ask for a new one with !identity link <platform> <username> from your other account.")
)

// Verify links the account who (speaking in the community) with the account
// that asked for the code it was sent, if code is that code: one
// transaction locks the code, checks it in constant time, and merges the
// two identities (Merge), so points awarded meanwhile are neither lost nor
// counted twice. A wrong code counts an attempt (the fifth kills the code);
// a malformed one costs nothing. Every instance's cache drops both
// identities once it commits.
func (s *Service) Verify(ctx context.Context, communityID int64, who Account, typed string) (Linked, error) {
	code, err := normalCode(typed)
	if err != nil {
		return Linked{}, err
	}
	hash, err := s.codeHash(ctx, communityID, who, code)
	if err != nil {
		return Linked{}, err
	}
	var out Linked
	var refusal error // committed with the attempt it counted
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		c, err := q.IdentityLinkCodePending(ctx, db.IdentityLinkCodePendingParams{CommunityID: communityID, ToPlatform: who.Platform, ToAccount: who.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			refusal = ErrNoCode
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the code: %w", err)
		}
		if !s.now().Before(c.ExpiresAt) {
			if err := q.IdentityLinkCodeUse(ctx, c.ID); err != nil {
				return fmt.Errorf("retire the code: %w", err)
			}
			refusal = problem.New(problem.Conflict, "That code expired (codes live 10 minutes): ask for a new one with !identity link from your other account.")
			return nil
		}
		if !codeMatches(c.CodeHash, hash) {
			n, err := q.IdentityLinkCodeAttempt(ctx, c.ID)
			if err != nil {
				return fmt.Errorf("count the attempt: %w", err)
			}
			if left := CodeAttempts - int(n); left > 0 {
				refusal = problem.New(problem.Invalid, "Wrong code: %d tries left.", left)
			} else {
				refusal = problem.New(problem.Conflict, "Wrong code %d times: that code is dead. Ask for a new one with !identity link from your other account.", CodeAttempts)
			}
			return nil
		}
		if err := q.IdentityLinkCodeUse(ctx, c.ID); err != nil {
			return fmt.Errorf("use the code: %w", err)
		}
		// Both accounts were recorded by the request. They are read without
		// a lock: Merge locks every account of both identities in key order,
		// the order points writes lock them in.
		from, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: c.FromPlatform, AccountID: c.FromAccount})
		if err != nil {
			return fmt.Errorf("the requester: %w", err)
		}
		to, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: who.Platform, AccountID: who.ID})
		if err != nil {
			return fmt.Errorf("the target: %w", err)
		}
		if from.IdentityID == to.IdentityID {
			refusal = problem.New(problem.Conflict, "These accounts are linked already.")
			return nil
		}
		// What changed since the request: the target linked elsewhere, or
		// the requester linked another account of this platform.
		if err := s.linkable(ctx, q, from.IdentityID, to.IdentityID); err != nil {
			if problem.As(err) != nil {
				refusal = err
				return nil
			}
			return err
		}
		m, err := Merge(ctx, tx, from.IdentityID, to.IdentityID, "chat")
		if problem.As(err) != nil {
			refusal = err
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.mergedTx(ctx, tx, m); err != nil {
			return err
		}
		out.Merged = m
		accs, err := q.IdentityAccountsOf(ctx, m.Into)
		if err != nil {
			return fmt.Errorf("the linked accounts: %w", err)
		}
		for _, a := range accs {
			out.Accounts = append(out.Accounts, Account{Platform: a.Platform, ID: a.AccountID, Name: a.UserName})
		}
		if b, ok := m.Balances[communityID]; ok {
			out.Balance = b
			return nil
		}
		b, err := q.PointsBalanceGet(ctx, db.PointsBalanceGetParams{CommunityID: communityID, Platform: who.Platform, UserID: who.ID})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read the balance: %w", err)
		}
		out.Balance = b
		return nil
	})
	if err != nil {
		return Linked{}, fmt.Errorf("verify a link code: %w", err)
	}
	if refusal != nil {
		return Linked{}, refusal
	}
	s.invalidate(ctx, out.Into, out.From)
	s.merged(ctx, out.Merged)
	return out, nil
}
