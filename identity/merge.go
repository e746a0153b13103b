package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Merged is what a merge did.
type Merged struct {
	Into, From int64 // the identity kept and the one absorbed
	// Balances are the survivor's new balances by community, where the
	// absorbed identity had points there.
	Balances map[int64]int64
	// LabelsDropped counts labels of the absorbed identity that did not fit
	// under the limit of five a person.
	LabelsDropped int64
}

// Merge moves every account and everything else of identity from onto
// identity into, in tx: balances (with ledger rows on both sides naming the
// accounts), watch time, community profiles (reputations add up), reputation
// history, labels (up to the limit) and role assignments. how is "chat" or
// "oauth". Both identities' accounts are locked first in the order every
// points write takes them, so an award that raced the merge lands either
// before it (and is carried over) or after it (on the survivor), never lost
// and never counted twice.
//
// The survivor is into, unless only from belongs to a hub user: then the
// hub user's identity survives. Two hub users' identities are never merged
// (ErrOtherHubUser); two accounts of one platform are refused
// (ErrSamePlatform).
func Merge(ctx context.Context, tx pgx.Tx, into, from int64, how string) (Merged, error) {
	if into == from {
		return Merged{Into: into, From: from}, nil
	}
	q := db.New(tx)
	accounts, err := q.IdentityAccountsLock(ctx, []int64{into, from})
	if err != nil {
		return Merged{}, fmt.Errorf("lock accounts: %w", err)
	}
	seen := map[string]int64{}
	var intoNote, fromNote string
	for _, a := range accounts {
		if other, ok := seen[a.Platform]; ok && other != a.IdentityID {
			return Merged{}, ErrSamePlatform
		}
		seen[a.Platform] = a.IdentityID
		note := a.Platform + " " + shownName(a)
		if a.IdentityID == into && intoNote == "" {
			intoNote = note
		}
		if a.IdentityID == from && fromNote == "" {
			fromNote = note
		}
	}
	idInto, err := q.IdentityGetForUpdate(ctx, into)
	if err != nil {
		return Merged{}, fmt.Errorf("read identity %d: %w", into, err)
	}
	idFrom, err := q.IdentityGetForUpdate(ctx, from)
	if err != nil {
		return Merged{}, fmt.Errorf("read identity %d: %w", from, err)
	}
	switch {
	case idInto.UserID != nil && idFrom.UserID != nil:
		return Merged{}, ErrOtherHubUser
	case idFrom.UserID != nil:
		into, from = from, into
		intoNote, fromNote = fromNote, intoNote
	}
	m := Merged{Into: into, From: from, Balances: map[int64]int64{}}
	if _, err := q.IdentityAccountsMove(ctx, db.IdentityAccountsMoveParams{IntoID: into, FromID: from, LinkedBy: how}); err != nil {
		return Merged{}, fmt.Errorf("move accounts: %w", err)
	}
	if err := q.IdentityAccountsMarkLinked(ctx, db.IdentityAccountsMarkLinkedParams{IdentityID: into, LinkedBy: how}); err != nil {
		return Merged{}, fmt.Errorf("mark accounts linked: %w", err)
	}
	bals, err := q.PointsMergeIdentity(ctx, db.PointsMergeIdentityParams{FromID: from, IntoID: into, IntoNote: intoNote, FromNote: fromNote})
	if err != nil {
		return Merged{}, fmt.Errorf("merge balances: %w", err)
	}
	for _, b := range bals {
		m.Balances[b.CommunityID] = b.Balance
	}
	if err := q.WatchTimeMergeIdentity(ctx, db.WatchTimeMergeIdentityParams{FromID: from, IntoID: into}); err != nil {
		return Merged{}, fmt.Errorf("merge watch time: %w", err)
	}
	if err := q.PeopleMergeIdentity(ctx, db.PeopleMergeIdentityParams{FromID: from, IntoID: into}); err != nil {
		return Merged{}, fmt.Errorf("merge profiles: %w", err)
	}
	if err := q.ReputationEventsMergeIdentity(ctx, db.ReputationEventsMergeIdentityParams{FromID: from, IntoID: into}); err != nil {
		return Merged{}, fmt.Errorf("merge reputation history: %w", err)
	}
	before, err := countLabels(ctx, q, from)
	if err != nil {
		return Merged{}, err
	}
	carried, err := q.PersonLabelsMergeIdentity(ctx, db.PersonLabelsMergeIdentityParams{FromID: from, IntoID: into})
	if err != nil {
		return Merged{}, fmt.Errorf("merge labels: %w", err)
	}
	m.LabelsDropped = before - carried
	if err := q.LabelAssignmentsMergeIdentity(ctx, db.LabelAssignmentsMergeIdentityParams{FromID: from, IntoID: into}); err != nil {
		return Merged{}, fmt.Errorf("merge role assignments: %w", err)
	}
	if err := q.PeopleDeleteIdentity(ctx, from); err != nil {
		return Merged{}, fmt.Errorf("forget the absorbed profiles: %w", err)
	}
	if err := q.IdentityDelete(ctx, from); err != nil {
		return Merged{}, fmt.Errorf("delete absorbed identity: %w", err)
	}
	return m, nil
}

// countLabels counts an identity's labels in every community.
func countLabels(ctx context.Context, q *db.Queries, id int64) (int64, error) {
	n, err := q.PersonLabelsCountIdentity(ctx, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("count labels: %w", err)
	}
	return n, nil
}

// shownName is an account as a ledger line names it.
func shownName(a db.IdentityAccount) string {
	if a.UserName != "" {
		return a.UserName
	}
	return a.AccountID
}

// mergedTx tells the merge follower of m in the merge's transaction.
func (s *Service) mergedTx(ctx context.Context, tx pgx.Tx, m Merged) error {
	if s.merges == nil || m.Into == m.From {
		return nil
	}
	if err := s.merges.MergedTx(ctx, tx, m.Into); err != nil {
		return fmt.Errorf("follow the merge: %w", err)
	}
	return nil
}

// merged tells the merge follower of m after it committed.
func (s *Service) merged(ctx context.Context, m Merged) {
	if s.merges != nil && m.Into != m.From && m.Into != 0 {
		s.merges.Merged(ctx, m.Into)
	}
}
