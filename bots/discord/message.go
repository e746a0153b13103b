package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
