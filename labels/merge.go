package labels

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// MergeFollower keeps labels in step with identity merges (it implements
// identity.MergeFollower). In the merge's transaction it asks again for
// the platform roles of every label the surviving person carries, so that
// the accounts the person gained get them too (an account that already has
// a role is given it again, which the platforms take as a no-op); after
// the merge it drops the cached label searches of the communities where
// the person carries labels, since labels moved between identities.
type MergeFollower struct {
	Labels *Service
	Roles  RoleSync // nil: labels give no roles
}

// MergedTx asks for the survivor's roles, in the merge's transaction.
func (f MergeFollower) MergedTx(ctx context.Context, tx pgx.Tx, into int64) error {
	if f.Roles == nil {
		return nil
	}
	rows, err := db.New(tx).PersonLabelsEverywhere(ctx, into)
	if err != nil {
		return fmt.Errorf("read the merged person's labels: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	changes := make([]Change, 0, len(rows))
	for _, r := range rows {
		changes = append(changes, Change{CommunityID: r.CommunityID, IdentityID: into, LabelID: r.LabelID, Give: true})
	}
	return f.Roles.Changed(ctx, tx, changes)
}

// Merged drops the cached searches that may show the absorbed identity.
func (f MergeFollower) Merged(ctx context.Context, into int64) {
	if f.Labels == nil {
		return
	}
	rows, err := db.New(f.Labels.pool).PersonLabelsEverywhere(ctx, into)
	if err != nil {
		// Cached searches expire on their own; say why they may be stale.
		f.Labels.logger.WarnContext(ctx, "drop label searches after a merge", "identity", into, "err", err)
		return
	}
	last := int64(0)
	for _, r := range rows {
		if r.CommunityID != last {
			f.Labels.Invalidate(ctx, r.CommunityID)
			last = r.CommunityID
		}
	}
}
