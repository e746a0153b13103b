package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Send queues m, a message without an incoming event, on the bot's send
// queue: a post in channel m.Channel of the linked guild m.Server, or a DM
// to m.User, a member of that guild. The router checked that the community
// linked m.Server; Send checks, with Discord, that the channel is in that
// guild and the user a member of it, so a community reaches no other
// guild's channels or members through the bot. It returns once the message
// is queued.
func (b *Bot) Send(ctx context.Context, _ int64, m router.Message) error {
	msg := &discordgo.MessageSend{Content: runes.Truncate(m.Text, 2000, ""), AllowedMentions: noMassMentions}
	if m.User != "" {
		if _, err := b.api.GuildMember(m.Server, m.User, discordgo.WithContext(ctx)); err != nil {
			if unknown(err, discordgo.ErrCodeUnknownMember, discordgo.ErrCodeUnknownUser) {
				return problem.Invalidf("user", "User %s is not a member of Discord server %s.", m.User, m.Server)
			}
			return fmt.Errorf("discord: look up member %s: %w", m.User, b.check(err))
		}
		if m.Wait {
			return dmAnswer(b.queue.SendWait(ctx, "dm:"+m.User, platform.High, b.gated(b.dm(m.User, msg))))
		}
		return b.enqueueCall("dm:"+m.User, platform.High, b.dm(m.User, msg))
	}
	ch, err := b.api.Channel(m.Channel, discordgo.WithContext(ctx))
	if err != nil && !unknown(err, discordgo.ErrCodeUnknownChannel) {
		return fmt.Errorf("discord: look up channel %s: %w", m.Channel, b.check(err))
	}
	if err != nil || ch.GuildID != m.Server {
		return problem.Invalidf("channel", "Channel %s is not in Discord server %s.", m.Channel, m.Server)
	}
	if ch.IsThread() {
		b.perm.setChannel(ch)
		if !b.mayPost(ctx, m.Server, m.Channel) {
			return problem.Invalidf("channel", "The bot may not post in thread %s: it lacks Send Messages in Threads there.", m.Channel)
		}
	}
	return b.enqueueCall(m.Channel, platform.High, b.post(m.Server, m.Channel, msg))
}

// dmAnswer words a DM's refusal for the person who asked for it.
func dmAnswer(err error) error {
	var re *discordgo.RESTError
	var ra *platform.RetryAfter
	switch {
	case err == nil || problem.As(err) != nil:
		return err
	case errors.As(err, &re) && re.Message != nil && re.Message.Code == discordgo.ErrCodeCannotSendMessagesToThisUser:
		return problem.New(problem.Forbidden, "Discord refused the DM: they do not accept direct messages from this server's members. Ask them to allow them (server menu, Privacy Settings, Direct Messages), then try again.")
	case errors.Is(err, platform.ErrQueueFull), errors.As(err, &ra):
		return problem.New(problem.TooMany, "Discord DMs are busy right now: try again in a minute.")
	}
	return err
}

// FindUser finds a member of the guild server by username (ignoring case)
// through Discord's member search, else by a nickname only one member has:
// their user id and username; found is false when none matches.
func (b *Bot) FindUser(ctx context.Context, server, name string) (id, username string, found bool, err error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	if name == "" || len(name) > 100 {
		return "", "", false, nil
	}
	members, err := b.api.GuildMembersSearch(server, name, 100, discordgo.WithContext(ctx))
	if err != nil {
		return "", "", false, fmt.Errorf("discord: search members of %s: %w", server, b.check(err))
	}
	var byNick []*discordgo.Member
	for _, m := range members {
		if m.User == nil {
			continue
		}
		if strings.EqualFold(m.User.Username, name) {
			return m.User.ID, m.User.Username, true, nil
		}
		if strings.EqualFold(m.Nick, name) {
			byNick = append(byNick, m)
		}
	}
	if len(byNick) == 1 {
		return byNick[0].User.ID, byNick[0].User.Username, true, nil
	}
	return "", "", false, nil
}

// unknown reports whether Discord answered err with 404 or one of codes.
func unknown(err error, codes ...int) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return false
	}
	if re.Message != nil {
		for _, c := range codes {
			if re.Message.Code == c {
				return true
			}
		}
	}
	return re.Response != nil && re.Response.StatusCode == http.StatusNotFound
}
