package slackbot

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/labels"
)

// UserGroups gives and takes Slack user group membership for labels
// (labels.RoleGiver). The bot token needs usergroups:read and
// usergroups:write, and the workspace must let the app manage user groups.
type UserGroups struct{ b *Bot }

// UserGroups returns the bot's user group giver.
func (b *Bot) UserGroups() *UserGroups { return &UserGroups{b: b} }

// Groups lists the team's enabled user groups.
func (u *UserGroups) Groups(ctx context.Context, team string) ([]labels.PlatformGroup, error) {
	api, err := u.b.client(ctx, team)
	if err != nil {
		return nil, &labels.Refused{Reason: err.Error()}
	}
	groups, err := api.GetUserGroupsContext(ctx)
	if err != nil {
		return nil, groupError(err)
	}
	out := make([]labels.PlatformGroup, 0, len(groups))
	for _, g := range groups {
		name := g.Name
		if g.Handle != "" {
			name = fmt.Sprintf("%s (@%s)", g.Name, g.Handle)
		}
		out = append(out, labels.PlatformGroup{ID: g.ID, Name: name})
	}
	return out, nil
}

// Give adds user to the group. Slack has no call that adds one member:
// usergroups.users.update replaces the whole list, so this reads the list,
// adds user and writes it back (the labels worker runs one such change per
// group at a time), then checks Slack's answer.
func (u *UserGroups) Give(ctx context.Context, team, group, user string) error {
	return u.change(ctx, team, group, user, true)
}

// Take removes user from the group, as Give. Slack refuses an empty list:
// the last member cannot be taken out (disable the group in Slack instead).
func (u *UserGroups) Take(ctx context.Context, team, group, user string) error {
	return u.change(ctx, team, group, user, false)
}

func (u *UserGroups) change(ctx context.Context, team, group, user string, give bool) error {
	api, err := u.b.client(ctx, team)
	if err != nil {
		return &labels.Refused{Reason: err.Error()}
	}
	members, err := api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return groupError(err)
	}
	if slices.Contains(members, user) == give {
		return nil // already so
	}
	if give {
		members = append(members, user)
	} else {
		members = slices.DeleteFunc(members, func(m string) bool { return m == user })
		if len(members) == 0 {
			return &labels.Refused{Reason: "Slack does not allow an empty user group: the last member cannot be removed (disable the group in Slack instead)"}
		}
	}
	got, err := api.UpdateUserGroupMembersListContext(ctx, group, members)
	if err != nil {
		return groupError(err)
	}
	if got.Users != nil && slices.Contains(got.Users, user) != give {
		return &labels.Later{Reason: "Slack's answer does not show the change yet"}
	}
	return nil
}

// Members lists the group's members.
func (u *UserGroups) Members(ctx context.Context, team, group string) ([]string, error) {
	api, err := u.b.client(ctx, team)
	if err != nil {
		return nil, &labels.Refused{Reason: err.Error()}
	}
	members, err := api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, groupError(err)
	}
	return members, nil
}

// groupError sorts Slack's answers: rate limits and server errors are
// transient, its ok:false errors permanent, in Slack's words.
func groupError(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &labels.Later{Wait: rl.RetryAfter, Reason: "Slack is rate limiting the bot"}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return &labels.Later{Reason: "Slack answered " + sc.Status}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		msg := "Slack refused: " + se.Err
		switch se.Err {
		case "missing_scope":
			msg += " (the app needs the usergroups:read and usergroups:write scopes; install it again)"
		case "permission_denied":
			msg += " (the workspace does not let the app manage user groups)"
		case "no_such_subteam":
			msg += " (the user group was deleted)"
		case "invalid_users":
			msg += " (an empty list, or an account that cannot join a user group, such as a bot or a guest)"
		case "failed_for_some_users":
			msg += " (the account is not in the workspace)"
		}
		return &labels.Refused{Reason: msg}
	}
	return fmt.Errorf("slack: %w", err)
}
