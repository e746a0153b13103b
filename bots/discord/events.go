package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// maxVoiceMinutes caps one voice session, in case a leave was missed.
const maxVoiceMinutes = 24 * 60

// handlers registers the bot's gateway handlers on a shard. They run on the
// shard's reader (SyncEvents), check for malformed payloads (a nil embedded
// struct) and queue the work for the bot's workers; interactions, which
// must be answered within 3 seconds, run beside them.
func (b *Bot) handlers(ctx context.Context, s *discordgo.Session) {
	shard := s.ShardID
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Ready) {
		if e.User != nil {
			b.mu.Lock()
			b.self = e.User.ID
			b.mu.Unlock()
		}
		b.log.InfoContext(ctx, "shard connected", "shard", shard)
		b.refreshStatus()
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) {
		b.log.InfoContext(ctx, "shard resumed", "shard", shard)
		b.refreshStatus()
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		if ctx.Err() != nil {
			return
		}
		b.log.WarnContext(ctx, "shard disconnected: reconnecting", "shard", shard)
		b.cfg.Status.Set(platform.StateReconnecting, fmt.Sprintf("Shard %d lost its gateway connection; reconnecting.", shard))
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildCreate) {
		if e.Guild == nil || e.ID == "" || e.Unavailable {
			return
		}
		b.remember(e.Guild)
		b.mu.Lock()
		self := b.self
		b.mu.Unlock()
		b.perm.setGuild(e.Guild, self)
		g, at := e.Guild, b.cfg.Now()
		b.enqueue(ctx, func(ctx context.Context) {
			if err := b.cfg.Links.Seen(ctx, router.Discord, g.ID, g.Name); err != nil {
				b.log.WarnContext(ctx, "record guild", "err", err, "guild", g.ID)
			}
			// Members already in voice (the bot just started) count from
			// now; those recorded but gone left while the shard was away.
			var inVoice []string
			for _, v := range g.VoiceStates {
				if v != nil && v.UserID != "" && v.ChannelID != "" {
					inVoice = append(inVoice, v.UserID)
				}
			}
			if err := b.store.voiceReset(ctx, g.ID, inVoice, at); err != nil {
				b.log.WarnContext(ctx, "record voice members", "err", err, "guild", g.ID)
			}
			b.refreshStatus()
			b.register(ctx, g.ID)
		})
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildUpdate) {
		if e.Guild != nil && e.ID != "" && !e.Unavailable {
			b.remember(e.Guild)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildDelete) {
		if e.Guild == nil || e.ID == "" || e.Unavailable { // unavailable: an outage, not a removal
			return
		}
		id := e.ID
		b.mu.Lock()
		delete(b.guilds, id)
		delete(b.hashes, id)
		b.mu.Unlock()
		b.perm.forget(id)
		b.enqueue(ctx, func(ctx context.Context) {
			if err := b.cfg.Links.Gone(ctx, router.Discord, id); err != nil {
				b.log.WarnContext(ctx, "forget guild", "err", err, "guild", id)
			}
			b.refreshStatus()
		})
	})
	// Channels and threads, for the bot's permissions where it replies.
	set := func(c *discordgo.Channel) {
		if c != nil {
			b.perm.setChannel(c)
		}
	}
	gone := func(c *discordgo.Channel) {
		if c != nil {
			b.perm.deleteChannel(c.GuildID, c.ID)
		}
	}
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ChannelCreate) { set(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ChannelUpdate) { set(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ChannelDelete) { gone(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ThreadCreate) { set(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ThreadUpdate) { set(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ThreadDelete) { gone(e.Channel) })
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.ThreadListSync) {
		for _, c := range e.Threads {
			if c != nil {
				c.GuildID = e.GuildID
				b.perm.setChannel(c)
			}
		}
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildRoleCreate) {
		if e.GuildRole != nil && e.Role != nil {
			b.setRole(e.GuildID, e.Role.ID, e.Role.Permissions)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildRoleUpdate) {
		if e.GuildRole != nil && e.Role != nil {
			b.setRole(e.GuildID, e.Role.ID, e.Role.Permissions)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildRoleDelete) {
		b.mu.Lock()
		if g := b.guilds[e.GuildID]; g != nil {
			delete(g.perms, e.RoleID)
		}
		b.mu.Unlock()
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.MessageCreate) {
		if e.Message == nil {
			return
		}
		m := e.Message
		b.enqueue(ctx, func(ctx context.Context) { b.onMessage(ctx, m) })
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.MessageReactionAdd) {
		if e.MessageReaction == nil {
			return
		}
		r, member := e.MessageReaction, e.Member
		b.enqueue(ctx, func(ctx context.Context) { b.onReaction(ctx, r, member) })
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildMemberAdd) {
		if e.Member == nil || e.User == nil {
			return
		}
		m := e.Member
		b.enqueue(ctx, func(ctx context.Context) { b.onMemberAdd(ctx, m) })
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.GuildMemberUpdate) {
		if e.Member != nil && e.User != nil && b.isSelf(e.User.ID) {
			b.perm.setRoles(e.GuildID, e.Roles)
		}
		if e.Member == nil || e.User == nil || e.PremiumSince == nil {
			return
		}
		m := e.Member
		b.enqueue(ctx, func(ctx context.Context) { b.onBoost(ctx, m.GuildID, m.User, m, *m.PremiumSince, "") })
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.VoiceStateUpdate) {
		if e.VoiceState == nil {
			return
		}
		v := e.VoiceState
		b.enqueue(ctx, func(ctx context.Context) { b.onVoice(ctx, v) })
	})
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.InteractionCreate) {
		if e.Interaction == nil || e.Type == discordgo.InteractionModalSubmit {
			return // a modal submit is read from the raw event below
		}
		i, arrived := e.Interaction, time.Now()
		b.interact(ctx, func(ctx context.Context) { b.onInteraction(ctx, i, arrived) })
	})
	// discordgo v0.29.0 cannot read a modal submit whose inputs sit in
	// Labels (it hands on the interaction without its data): the raw event
	// is read here instead.
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type != "INTERACTION_CREATE" {
			return
		}
		var raw struct {
			Type discordgo.InteractionType `json:"type"`
			Data json.RawMessage           `json:"data"`
		}
		if json.Unmarshal(e.RawData, &raw) != nil || raw.Type != discordgo.InteractionModalSubmit {
			return
		}
		d, err := parseModalSubmit(raw.Data)
		if err != nil {
			b.log.DebugContext(ctx, "modal submit ignored: unreadable data", "err", err)
			return
		}
		i := &discordgo.Interaction{}
		i.UnmarshalJSON(e.RawData) // fills all but the data it cannot read
		i.Data = d
		arrived := time.Now()
		b.interact(ctx, func(ctx context.Context) { b.onInteraction(ctx, i, arrived) })
	})
}

// remember keeps a guild's name, owner and role permissions.
func (b *Bot) remember(g *discordgo.Guild) {
	info := &guildInfo{name: g.Name, owner: g.OwnerID, perms: map[string]int64{}}
	for _, r := range g.Roles {
		if r != nil {
			info.perms[r.ID] = r.Permissions
		}
	}
	b.mu.Lock()
	if old := b.guilds[g.ID]; old != nil && len(g.Roles) == 0 {
		info.perms = old.perms
	}
	b.guilds[g.ID] = info
	b.mu.Unlock()
}

func (b *Bot) setRole(guild, role string, perms int64) {
	b.mu.Lock()
	if g := b.guilds[guild]; g != nil {
		g.perms[role] = perms
	}
	b.mu.Unlock()
}

const modPerms = discordgo.PermissionAdministrator | discordgo.PermissionManageMessages

// user describes a guild member for the router: the guild owner is the
// broadcaster; a member whose roles (or @everyone) grant Administrator or
// Manage Messages, or whose interaction permissions include them, is a
// moderator; a server booster is a subscriber.
func (b *Bot) user(guild string, u *discordgo.User, m *discordgo.Member) router.User {
	out := router.User{ID: u.ID, Name: runes.TruncateBytes(u.Username, 100), DisplayName: runes.TruncateBytes(u.GlobalName, 100)}
	if m != nil && m.Nick != "" {
		out.DisplayName = runes.TruncateBytes(m.Nick, 100)
	}
	b.mu.Lock()
	g := b.guilds[guild]
	perms := int64(0)
	owner := false
	if g != nil {
		owner = g.owner == u.ID
		perms = g.perms[guild] // @everyone
		if m != nil {
			for _, r := range m.Roles {
				perms |= g.perms[r]
			}
		}
	}
	b.mu.Unlock()
	if m != nil {
		perms |= m.Permissions
	}
	if owner {
		out.Roles = append(out.Roles, router.BadgeBroadcaster)
	}
	if perms&modPerms != 0 {
		out.Roles = append(out.Roles, router.BadgeModerator)
	}
	if m != nil && m.PremiumSince != nil {
		out.Roles = append(out.Roles, router.BadgeSubscriber)
	}
	return out
}

func (b *Bot) isSelf(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return id != "" && id == b.self
}

func (b *Bot) onMessage(ctx context.Context, m *discordgo.Message) {
	if m.Author == nil || m.Author.Bot || b.isSelf(m.Author.ID) || m.GuildID == "" {
		return
	}
	switch m.Type {
	case discordgo.MessageTypeUserPremiumGuildSubscription, discordgo.MessageTypeUserPremiumGuildSubscriptionTierOne,
		discordgo.MessageTypeUserPremiumGuildSubscriptionTierTwo, discordgo.MessageTypeUserPremiumGuildSubscriptionTierThree:
		b.onBoost(ctx, m.GuildID, m.Author, m.Member, m.Timestamp, m.ChannelID)
		return
	case discordgo.MessageTypeDefault, discordgo.MessageTypeReply:
	default:
		return
	}
	ev := router.Event{ID: "discord:" + m.ID, Kind: router.ChatMessage, Server: m.GuildID, Channel: m.ChannelID,
		User: b.user(m.GuildID, m.Author, m.Member), Text: runes.Truncate(m.Content, router.MaxTextLen, ""), Time: m.Timestamp}
	res, ok := b.handle(ctx, ev)
	if !ok {
		return
	}
	b.deliver(ctx, target{guild: m.GuildID, channel: m.ChannelID, message: m.ID, user: m.Author.ID}, res)
}

func (b *Bot) onReaction(ctx context.Context, r *discordgo.MessageReaction, member *discordgo.Member) {
	if r.GuildID == "" || r.UserID == "" || b.isSelf(r.UserID) {
		return
	}
	u := &discordgo.User{ID: r.UserID}
	if member != nil && member.User != nil {
		if member.User.Bot {
			return
		}
		u = member.User
	}
	emoji := r.Emoji.Name
	if r.Emoji.ID != "" {
		emoji = r.Emoji.ID
	}
	ev := router.Event{ID: runes.TruncateBytes("discord:react:"+r.MessageID+":"+r.UserID+":"+emoji, 200), Kind: router.Reaction, Server: r.GuildID,
		Channel: r.ChannelID, User: b.user(r.GuildID, u, member), Text: runes.TruncateBytes(r.Emoji.Name, 100)}
	if res, ok := b.handle(ctx, ev); ok {
		b.deliver(ctx, target{guild: r.GuildID, channel: r.ChannelID, message: r.MessageID, user: r.UserID}, res)
	}
}

func (b *Bot) onMemberAdd(ctx context.Context, m *discordgo.Member) {
	if m.GuildID == "" || m.User.Bot {
		return
	}
	ev := router.Event{ID: fmt.Sprintf("discord:join:%s:%s:%d", m.GuildID, m.User.ID, m.JoinedAt.Unix()), Kind: router.MemberJoin,
		Server: m.GuildID, User: b.user(m.GuildID, m.User, m)}
	if res, ok := b.handle(ctx, ev); ok {
		b.deliver(ctx, target{guild: m.GuildID, user: m.User.ID}, res)
	}
}

// onBoost turns a boost (a boost system message, or a member's premium_since
// newly set) into one Boost event: whichever arrives first claims it for an hour.
func (b *Bot) onBoost(ctx context.Context, guild string, u *discordgo.User, m *discordgo.Member, at time.Time, channel string) {
	if guild == "" || u == nil || u.ID == "" {
		return
	}
	if time.Since(at) > time.Hour && channel == "" {
		return // a member update about an old boost
	}
	first, err := b.store.put(ctx, "boost:"+guild+":"+u.ID, at.Unix(), time.Hour, false)
	if err != nil {
		b.log.WarnContext(ctx, "claim boost", "err", err)
		return
	}
	if !first {
		return
	}
	ev := router.Event{ID: fmt.Sprintf("discord:boost:%s:%s:%d", guild, u.ID, at.Unix()), Kind: router.Boost, Server: guild,
		Channel: channel, User: b.user(guild, u, m)}
	if res, ok := b.handle(ctx, ev); ok {
		b.deliver(ctx, target{guild: guild, channel: channel, user: u.ID}, res)
	}
}

// onVoice turns a member entering voice into VoiceJoin and leaving it into
// VoiceLeave with the whole minutes spent; moving between channels is neither.
func (b *Bot) onVoice(ctx context.Context, v *discordgo.VoiceState) {
	if v.GuildID == "" || v.UserID == "" || b.isSelf(v.UserID) {
		return
	}
	u := &discordgo.User{ID: v.UserID}
	if v.Member != nil && v.Member.User != nil {
		if v.Member.User.Bot {
			return
		}
		u = v.Member.User
	}
	now := b.cfg.Now()
	ev := router.Event{Server: v.GuildID, Channel: v.ChannelID, User: b.user(v.GuildID, u, v.Member), Time: now}
	if v.ChannelID != "" {
		first, err := b.store.voiceJoin(ctx, v.GuildID, v.UserID, now)
		if err != nil || !first {
			if err != nil {
				b.log.WarnContext(ctx, "voice join", "err", err)
			}
			return
		}
		ev.Kind = router.VoiceJoin
		ev.ID = fmt.Sprintf("discord:voice:%s:%s:%d", v.GuildID, v.UserID, now.UnixMilli())
	} else {
		joined, ok, err := b.store.voiceLeave(ctx, v.GuildID, v.UserID)
		if err != nil || !ok {
			if err != nil {
				b.log.WarnContext(ctx, "voice leave", "err", err)
			}
			return
		}
		minutes := min(max(int64(now.Sub(joined)/time.Minute), 0), maxVoiceMinutes)
		ev.Kind = router.VoiceLeave
		ev.ID = fmt.Sprintf("discord:voiceleave:%s:%s:%d", v.GuildID, v.UserID, joined.UnixMilli())
		ev.Data = map[string]any{"minutes": minutes}
	}
	if res, ok := b.handle(ctx, ev); ok {
		b.deliver(ctx, target{guild: v.GuildID, user: v.UserID}, res)
	}
}
