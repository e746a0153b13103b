package discord

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Posting in a thread takes Send Messages in Threads (not Send Messages).
// Without it Discord answers 403, which counts toward the invalid-request
// limit, so the bot works out its permission in a thread first, from what
// the gateway told it (channels and their overwrites, threads, its own
// roles) or, for a thread it has not seen, one lookup, and does not post
// where it may not.

// threadPerms is what the bot needs of a thread to post in it.
const threadPerms = discordgo.PermissionViewChannel | discordgo.PermissionSendMessagesInThreads

// deniedFor is how long a thread that refused a message (403) is not posted in.
const deniedFor = 10 * time.Minute

// perms is the bot's view of channels, threads and its own roles, by guild.
type perms struct {
	mu     sync.Mutex
	guilds map[string]*guildChannels
	warned map[string]bool // threads whose refusal was logged
}

type guildChannels struct {
	roles    []string // the bot's roles; nil until known
	known    bool     // roles is known
	channels map[string]*channelInfo
}

type channelInfo struct {
	thread     bool
	parent     string
	overwrites []*discordgo.PermissionOverwrite
	denied     time.Time // a post here was refused (403) until then
}

// guild returns the guild's entry; p.mu is held.
func (p *perms) guild(id string) *guildChannels {
	if p.guilds == nil {
		p.guilds = map[string]*guildChannels{}
	}
	g := p.guilds[id]
	if g == nil {
		g = &guildChannels{channels: map[string]*channelInfo{}}
		p.guilds[id] = g
	}
	return g
}

// setChannel records a channel or thread of a guild.
func (p *perms) setChannel(c *discordgo.Channel) {
	if c == nil || c.ID == "" || c.GuildID == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.guild(c.GuildID).channels[c.ID] = &channelInfo{thread: c.IsThread(), parent: c.ParentID, overwrites: c.PermissionOverwrites}
}

// forget drops what is known of a guild the bot left.
func (p *perms) forget(guild string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.guilds, guild)
}

func (p *perms) deleteChannel(guild, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.guild(guild).channels, id)
}

// setGuild records a guild's channels and threads from its GUILD_CREATE,
// and the bot's roles when its member is listed.
func (p *perms) setGuild(g *discordgo.Guild, self string) {
	p.mu.Lock()
	gc := p.guild(g.ID)
	gc.channels = map[string]*channelInfo{}
	for _, m := range g.Members {
		if m != nil && m.User != nil && m.User.ID == self && self != "" {
			gc.roles, gc.known = m.Roles, true
		}
	}
	p.mu.Unlock()
	for _, c := range append(append([]*discordgo.Channel{}, g.Channels...), g.Threads...) {
		if c != nil {
			c.GuildID = g.ID
			p.setChannel(c)
		}
	}
}

// setRoles records the bot's roles in a guild.
func (p *perms) setRoles(guild string, roles []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.guild(guild)
	g.roles, g.known = roles, true
}

// mayPost reports whether the bot may post in channel: false only for a
// thread where it lacks View Channel or Send Messages in Threads, or that
// refused a post lately (403); logged once per thread.
func (b *Bot) mayPost(ctx context.Context, guild, channel string) bool {
	if guild == "" || channel == "" {
		return true
	}
	b.perm.mu.Lock()
	g := b.perm.guild(guild)
	c, seen := g.channels[channel]
	anyKnown := len(g.channels) > 0
	b.perm.mu.Unlock()
	if !seen {
		if !anyKnown {
			return true // the gateway listed no channels: nothing to go by
		}
		// A channel the gateway did not list: a thread created or opened
		// since. One lookup tells.
		ch, err := b.api.Channel(channel, discordgo.WithContext(ctx))
		if err != nil {
			// Remembered as a plain channel, so it is not looked up again.
			b.log.DebugContext(ctx, "look up a channel", "err", b.check(err), "channel", channel)
			ch = &discordgo.Channel{ID: channel}
		}
		ch.GuildID = guild
		b.perm.setChannel(ch)
		b.perm.mu.Lock()
		c = b.perm.guild(guild).channels[channel]
		b.perm.mu.Unlock()
		if c == nil {
			return true
		}
	}
	b.perm.mu.Lock()
	denied, thread := time.Now().Before(c.denied), c.thread
	b.perm.mu.Unlock()
	if !thread {
		return true
	}
	ok := !denied && b.threadPerms(ctx, guild, c)&threadPerms == threadPerms
	b.perm.mu.Lock()
	warn := !ok && !b.perm.warned[channel]
	if warn {
		if b.perm.warned == nil || len(b.perm.warned) > 10_000 {
			b.perm.warned = map[string]bool{}
		}
		b.perm.warned[channel] = true
	}
	if ok {
		delete(b.perm.warned, channel)
	}
	b.perm.mu.Unlock()
	if warn {
		b.log.WarnContext(ctx, "not replying in a thread: the bot lacks Send Messages in Threads there; add it again with the hub's install link or grant the permission",
			"guild", guild, "thread", channel)
	}
	return ok
}

// refusedIn notes that a post in a thread was refused with 403 (missing
// access or permissions: what the bot knew was stale), so the bot does not
// try it again for deniedFor.
func (b *Bot) refusedIn(guild, channel string, err error) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode != http.StatusForbidden {
		return
	}
	b.perm.mu.Lock()
	defer b.perm.mu.Unlock()
	if c := b.perm.guild(guild).channels[channel]; c != nil && c.thread {
		c.denied = time.Now().Add(deniedFor)
	}
}

// threadPerms computes the bot's permissions in a thread: its roles' (with
// @everyone's), then the parent channel's overwrites for @everyone, its
// roles and itself.
func (b *Bot) threadPerms(ctx context.Context, guild string, c *channelInfo) int64 {
	b.mu.Lock()
	self := b.self
	gi := b.guilds[guild]
	var rolePerms map[string]int64
	owner := false
	if gi != nil {
		rolePerms, owner = gi.perms, gi.owner == self && self != ""
	}
	b.mu.Unlock()
	if owner {
		return -1
	}
	b.perm.mu.Lock()
	g := b.perm.guild(guild)
	roles, known := g.roles, g.known
	var overwrites []*discordgo.PermissionOverwrite
	if p := g.channels[c.parent]; p != nil {
		overwrites = p.overwrites
	}
	b.perm.mu.Unlock()
	if !known && self != "" {
		m, err := b.api.GuildMember(guild, self, discordgo.WithContext(ctx))
		if err != nil {
			b.log.DebugContext(ctx, "look up the bot's roles", "err", b.check(err), "guild", guild)
			return -1 // unknown: let Discord decide
		}
		roles = m.Roles
		b.perm.setRoles(guild, roles)
	}
	return permissionsIn(guild, self, rolePerms, roles, overwrites)
}

// permissionsIn is Discord's permission computation for a member with
// roles in a channel with overwrites.
func permissionsIn(guild, user string, rolePerms map[string]int64, roles []string, overwrites []*discordgo.PermissionOverwrite) int64 {
	p := rolePerms[guild]
	for _, r := range roles {
		p |= rolePerms[r]
	}
	if p&discordgo.PermissionAdministrator != 0 {
		return -1
	}
	has := map[string]bool{}
	for _, r := range roles {
		has[r] = true
	}
	var allow, deny int64
	for _, o := range overwrites {
		if o != nil && o.Type == discordgo.PermissionOverwriteTypeRole && o.ID == guild {
			p = p&^o.Deny | o.Allow
		}
	}
	for _, o := range overwrites {
		if o != nil && o.Type == discordgo.PermissionOverwriteTypeRole && o.ID != guild && has[o.ID] {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	p = p&^deny | allow
	for _, o := range overwrites {
		if o != nil && o.Type == discordgo.PermissionOverwriteTypeMember && o.ID == user {
			p = p&^o.Deny | o.Allow
		}
	}
	return p
}
