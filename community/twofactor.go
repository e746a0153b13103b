package community

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// SetRequireTwoFactor turns on or off the rule that the community's owners
// and admins need a second factor to reach its admin pages and API keys. Only
// owners change it, and one who turns it on must have a second factor.
func (s *Service) SetRequireTwoFactor(ctx context.Context, a Actor, communityID int64, on bool) (Community, error) {
	if a.Role != Owner {
		return Community{}, problem.New(problem.Forbidden, "Only the community's owners change the two-factor rule.")
	}
	if on {
		has, err := s.auth.HasTwoFactor(ctx, a.User.ID)
		if err != nil {
			return Community{}, err
		}
		if !has {
			return Community{}, problem.Invalidf("require_two_factor", "Set up two-factor sign-in for your own account first (on your account page): the rule applies to you too.")
		}
	}
	var c Community
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).CommunitySetRequireTwoFactor(ctx, db.CommunitySetRequireTwoFactorParams{ID: communityID, RequireTwoFactor: on})
		if err != nil {
			return err
		}
		c = toCommunity(r)
		target := "two-factor required of owners and admins: off"
		if on {
			target = "two-factor required of owners and admins: on"
		}
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: communityID, Action: audit.CommunitySettings, Target: target})
	})
	if err != nil {
		return Community{}, fmt.Errorf("set the two-factor rule of community %d: %w", communityID, err)
	}
	return c, nil
}

// TwoFactorRequiredOf reports whether some community that requires a second
// factor of its owners and admins has user as one (global admins act as
// owners of every community).
func (s *Service) TwoFactorRequiredOf(ctx context.Context, user auth.User) (bool, error) {
	req, err := db.New(s.pool).CommunityRequiringTwoFactorOfUser(ctx, db.CommunityRequiringTwoFactorOfUserParams{IsAdmin: user.IsAdmin, UserID: user.ID})
	if err != nil {
		return false, fmt.Errorf("check the two-factor rule for user %d: %w", user.ID, err)
	}
	return req, nil
}
