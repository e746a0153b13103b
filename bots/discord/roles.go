package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/labels"
)

// Roles gives and takes Discord roles for labels (labels.RoleGiver). The bot
// needs the Manage Roles permission, and its highest role must be above the
// roles it gives.
type Roles struct{ b *Bot }

// Roles returns the bot's role giver.
func (b *Bot) Roles() *Roles { return &Roles{b: b} }

// Discord's permission bits that let the bot manage roles.
const (
	permAdministrator = 1 << 3
	permManageRoles   = 1 << 28
)

// Groups lists the guild's roles: @everyone is left out, and roles the bot
// cannot give (managed by an integration, at or above its highest role, or
// any role when it lacks Manage Roles) say why.
func (r *Roles) Groups(ctx context.Context, guild string) ([]labels.PlatformGroup, error) {
	api := r.b.api
	roles, err := api.GuildRoles(guild, discordgo.WithContext(ctx))
	if err != nil {
		return nil, roleError(err)
	}
	me, err := api.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return nil, roleError(err)
	}
	member, err := api.GuildMember(guild, me.ID, discordgo.WithContext(ctx))
	if err != nil {
		return nil, roleError(err)
	}
	var perms int64
	top := 0
	for _, role := range roles {
		if role.ID == guild || slices.Contains(member.Roles, role.ID) {
			perms |= role.Permissions
			if role.ID != guild {
				top = max(top, role.Position)
			}
		}
	}
	manage := perms&(permAdministrator|permManageRoles) != 0
	slices.SortFunc(roles, func(a, b *discordgo.Role) int { return b.Position - a.Position })
	out := make([]labels.PlatformGroup, 0, len(roles))
	for _, role := range roles {
		if role.ID == guild {
			continue // @everyone: every member has it
		}
		g := labels.PlatformGroup{ID: role.ID, Name: role.Name}
		switch {
		case role.Managed:
			g.Refused = "it is managed by an integration"
		case !manage:
			g.Refused = "the bot lacks the Manage Roles permission"
		case role.Position >= top:
			g.Refused = "it is at or above the bot's highest role"
		}
		out = append(out, g)
	}
	return out, nil
}

// Give adds the role to the member.
func (r *Roles) Give(ctx context.Context, guild, role, user string) error {
	return roleError(r.b.api.GuildMemberRoleAdd(guild, user, role, discordgo.WithContext(ctx)))
}

// Take removes the role from the member.
func (r *Roles) Take(ctx context.Context, guild, role, user string) error {
	return roleError(r.b.api.GuildMemberRoleRemove(guild, user, role, discordgo.WithContext(ctx)))
}

// Members lists the members with the role, a thousand at a time (the guild
// members intent the bot asks for allows the list).
func (r *Roles) Members(ctx context.Context, guild, role string) ([]string, error) {
	var out []string
	after := ""
	for range 1000 { // at most a million members
		page, err := r.b.api.GuildMembers(guild, after, 1000, discordgo.WithContext(ctx))
		if err != nil {
			return nil, roleError(err)
		}
		for _, m := range page {
			if m.User != nil && slices.Contains(m.Roles, role) {
				out = append(out, m.User.ID)
			}
		}
		if len(page) < 1000 || page[len(page)-1].User == nil {
			return out, nil
		}
		after = page[len(page)-1].User.ID
	}
	return out, nil
}

// roleError sorts Discord's answers: 429 and 5xx are transient, the other
// refusals permanent, in Discord's words.
func roleError(err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil {
		return &labels.Later{Wait: rl.RetryAfter, Reason: "Discord is rate limiting the bot"}
	}
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("discord: %w", err)
	}
	status := re.Response.StatusCode
	msg := http.StatusText(status)
	if re.Message != nil && re.Message.Message != "" {
		msg = re.Message.Message
		if re.Message.Code != 0 {
			msg = fmt.Sprintf("%s (%d)", msg, re.Message.Code)
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &labels.Later{Reason: "Discord is rate limiting the bot"}
	case status >= 500:
		return &labels.Later{Reason: fmt.Sprintf("Discord answered %d %s", status, msg)}
	case status == http.StatusForbidden:
		return &labels.Refused{Reason: "Discord refused: " + msg + " — the bot needs Manage Roles and a role above this one"}
	}
	return &labels.Refused{Reason: "Discord refused: " + msg}
}
