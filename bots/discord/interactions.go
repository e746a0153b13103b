package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// onInteraction handles slash commands, autocomplete, component clicks and
// modal submits; arrived is when the gateway delivered it.
func (b *Bot) onInteraction(ctx context.Context, i *discordgo.Interaction, arrived time.Time) {
	if i.ID == "" || i.Token == "" {
		return
	}
	var u *discordgo.User
	switch {
	case i.Member != nil && i.Member.User != nil:
		u = i.Member.User
	case i.User != nil:
		u = i.User
	default:
		return
	}
	if i.GuildID == "" {
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "Use the bot's commands in a server.", Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	appID := i.AppID
	if appID == "" {
		appID = b.cfg.AppID
	}
	ix := newInteraction(i.ID, appID, i.Token, i.ChannelID, i.GuildID, arrived)
	ev := router.Event{ID: "discord:" + i.ID, Server: i.GuildID, Channel: i.ChannelID, User: b.user(i.GuildID, u, i.Member)}
	t := target{guild: i.GuildID, channel: i.ChannelID, user: u.ID}
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			b.autocomplete(ctx, i, d)
			return
		}
		args := ""
		for _, o := range d.Options {
			if o != nil && o.Name == "args" {
				args, _ = o.Value.(string)
			}
		}
		ev.Kind, ev.Text = router.SlashCommand, runes.Truncate(strings.TrimSpace(d.Name+" "+args), router.MaxTextLen, "")
		b.answer(ctx, i, ix, t, ev, b.clickBudget(i.ID, arrived, time.Now()))
	case discordgo.MessageComponentInteractionData:
		if key, ok := strings.CutPrefix(d.CustomID, formPrefix); ok {
			b.openForm(ctx, i, key)
			return
		}
		text := d.CustomID
		if len(d.Values) > 0 {
			text += " " + strings.Join(d.Values, " ")
		}
		ev.Kind, ev.Text = router.ButtonClick, runes.Truncate(text, router.MaxTextLen, "")
		b.click(ctx, i, ix, t, ev, b.clickBudget(i.ID, arrived, time.Now()))
	case modalSubmit:
		ev.Kind, ev.Text, ev.Data = router.ModalSubmit, runes.Truncate(d.CustomID, router.MaxTextLen, ""), d.Fields
		b.answer(ctx, i, ix, t, ev, b.clickBudget(i.ID, arrived, time.Now()))
	default:
		b.log.DebugContext(ctx, "interaction ignored: unknown type", "type", int(i.Type))
	}
}

// clickBudget is how long a click may still be handled at now before it must
// be deferred: ComponentBudget counted from the interaction's start.
func (b *Bot) clickBudget(id string, arrived, now time.Time) time.Duration {
	return max(b.cfg.ComponentBudget-now.Sub(ixStart(id, arrived)), 0)
}

// ixStart is when Discord created the interaction id (its timestamp), or its
// arrival when that timestamp is after the arrival or over a minute before it
// (clocks apart).
func ixStart(id string, arrived time.Time) time.Time {
	if created, err := discordgo.SnowflakeTimestamp(id); err == nil && !created.After(arrived) && arrived.Sub(created) < time.Minute {
		return created
	}
	return arrived
}

// interaction is what the deferred edits and followups of an interaction
// need. Its token lets whoever holds it post as the bot in the interaction's
// channel for 15 minutes, so it lives only in the memory of the instance
// answering the interaction — in the sends queued for it — and is never
// written to Redis or a log. Nothing else needs it: Discord delivers an
// interaction to one instance (the shard's), and the send queue holding its
// answers is that instance's memory, finished at shutdown and gone after a
// crash, so a stored copy could not be used by anyone but a reader of Redis.
type interaction struct {
	id, appID, token, channel, guild string
	expires                          time.Time // when Discord stops accepting the token
}

// errIxExpired is returned for an answer sent after the token's 15 minutes.
var errIxExpired = errors.New("the interaction's token has expired: Discord accepts it for 15 minutes")

func newInteraction(id, appID, token, channel, guild string, arrived time.Time) interaction {
	return interaction{id: id, appID: appID, token: token, channel: channel, guild: guild, expires: ixStart(id, arrived).Add(ixTTL)}
}

// open returns the interaction for discordgo's calls, unless its token has
// expired at now.
func (ix interaction) open(now time.Time) (*discordgo.Interaction, error) {
	if !now.Before(ix.expires) {
		return nil, fmt.Errorf("interaction %s: %w", ix.id, errIxExpired)
	}
	return &discordgo.Interaction{ID: ix.id, AppID: ix.appID, Token: ix.token, ChannelID: ix.channel, GuildID: ix.guild}, nil
}

// handleWithin runs the router on ev. When it answers within budget, the
// result is returned with inTime true; otherwise late is called when the
// budget runs out (to defer the interaction before Discord's 3 seconds) and
// the result returned when it comes.
func (b *Bot) handleWithin(ctx context.Context, ev router.Event, budget time.Duration, late func()) (res router.Result, ok, inTime bool) {
	type result struct {
		res router.Result
		ok  bool
	}
	done := make(chan result, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, ok := b.handle(ctx, ev)
		done <- result{res, ok}
	}()
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.res, r.ok, true
	case <-timer.C:
		late()
		r := <-done
		return r.res, r.ok, false
	}
}

// deferred is the deferred answer to an interaction, private (ephemeral)
// or not. Discord fixes the visibility of the interaction's original
// message by the defer: the edit that replaces "thinking…" — and the first
// followup, which Discord takes as that edit — cannot change it.
func deferred(private bool) *discordgo.InteractionResponse {
	r := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	if private {
		r.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	return r
}

// answer handles a slash command or a modal submit: deferred privately
// when the router answered within budget and its first message is
// private, publicly otherwise, and then answered.
func (b *Bot) answer(ctx context.Context, i *discordgo.Interaction, ix interaction, t target, ev router.Event, budget time.Duration) {
	res, ok, inTime := b.handleWithin(ctx, ev, budget, func() { b.respond(ctx, i, deferred(false)) })
	private := inTime && firstPrivate(res)
	if inTime {
		b.respond(ctx, i, deferred(private))
	}
	b.deliverInteraction(ctx, ix, t, res, ok, private)
}

// firstPrivate reports whether the first message of a result is private.
func firstPrivate(res router.Result) bool {
	for _, r := range res.Responses {
		if r.Reply != "" || r.Embed != nil || len(r.Buttons) > 0 || r.Form != nil {
			return r.Private
		}
	}
	return false
}

// click handles a button or select: a form the router answers with within
// budget opens as a modal; otherwise the click is deferred and answered
// with a message.
func (b *Bot) click(ctx context.Context, i *discordgo.Interaction, ix interaction, t target, ev router.Event, budget time.Duration) {
	res, ok, inTime := b.handleWithin(ctx, ev, budget, func() { b.respond(ctx, i, deferred(false)) })
	if !inTime {
		b.deliverInteraction(ctx, ix, t, res, ok, false)
		return
	}
	for k, resp := range res.Responses {
		if resp.Form != nil && len(resp.Form.ID) <= 100 && resp.Form.ID != "" {
			m, err := modal(*resp.Form)
			if err != nil {
				b.log.WarnContext(ctx, "form not opened", "err", err, "form", resp.Form.ID)
				m = notice(noFieldsNote)
			}
			b.respond(ctx, i, m)
			res.Responses = append(res.Responses[:k:k], res.Responses[k+1:]...)
			b.deliver(ctx, t, res)
			return
		}
	}
	if !ok || !sendable(res) {
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
		b.deliver(ctx, t, res) // moderation only
		return
	}
	private := firstPrivate(res)
	b.respond(ctx, i, deferred(private))
	b.deliverInteraction(ctx, ix, t, res, ok, private)
}

// sendable reports whether a result has anything to show.
func sendable(res router.Result) bool {
	for _, r := range res.Responses {
		if r.Reply != "" || r.Embed != nil || len(r.Buttons) > 0 || r.Form != nil {
			return true
		}
	}
	return false
}

// openForm answers a click on a form button with the form's modal.
func (b *Bot) openForm(ctx context.Context, i *discordgo.Interaction, key string) {
	var f router.Form
	if err := b.store.get(ctx, "form:"+key, &f); err != nil {
		b.respond(ctx, i, notice("This form has expired."))
		return
	}
	m, err := modal(f)
	if err != nil {
		b.log.WarnContext(ctx, "form not opened", "err", err, "form", f.ID)
		m = notice(noFieldsNote)
	}
	b.respond(ctx, i, m)
}

// notice answers an interaction with a message only its user sees.
func notice(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral}}
}

// respond sends the first answer to an interaction at once, outside the
// send queue: Discord drops an interaction not answered within 3 seconds.
func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, r *discordgo.InteractionResponse) {
	if err := b.check(b.api.InteractionRespond(i, r, discordgo.WithContext(ctx))); err != nil {
		b.log.WarnContext(ctx, "answer interaction", "err", err, "type", int(r.Type))
	}
}

// deliverInteraction sends the responses to an interaction deferred
// privately or not. Discord shows the original ("thinking…") message with
// the defer's visibility, and takes the first followup sent while it is
// still loading as its edit, whatever that followup's flags. So the first
// part whose visibility matches the defer's edits the original first of
// all, and only then do the others go as followups, private ones
// ephemeral. When no part matches (a slow router answered only privately
// after a public defer), the original is edited to a neutral note, the
// followups sent, and the note deleted: the private text is never shown in
// the channel.
func (b *Bot) deliverInteraction(ctx context.Context, ix interaction, t target, res router.Result, ok, private bool) {
	var parts []part
	for _, r := range res.Responses {
		if p := b.act(ctx, t, r); !p.empty() {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		note := "Nothing to show."
		if !ok {
			note = "This server is not linked to a Waddle community, or the command failed."
		}
		parts = []part{{content: note, private: private}}
	}
	first := -1
	for k, p := range parts {
		if p.private == private {
			first = k
			break
		}
	}
	note := "Answered privately."
	if private {
		note = "Answered in the channel."
	}
	original := part{content: note, private: private}
	if first >= 0 {
		original = parts[first]
		parts = append(parts[:first:first], parts[first+1:]...)
	}
	b.send(ix.channel, platform.High, func(ctx context.Context) error {
		i, err := ix.open(time.Now())
		if err != nil {
			return err
		}
		_, err = b.api.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &original.content, Embeds: &original.embeds,
			Components: &original.components, AllowedMentions: noMassMentions}, discordgo.WithContext(ctx))
		return err
	})
	for _, p := range parts {
		params := &discordgo.WebhookParams{Content: p.content, Embeds: p.embeds, Components: p.components, AllowedMentions: noMassMentions}
		if p.private {
			params.Flags = discordgo.MessageFlagsEphemeral
		}
		b.send(ix.channel, platform.High, func(ctx context.Context) error {
			i, err := ix.open(time.Now())
			if err != nil {
				return err
			}
			_, err = b.api.FollowupMessageCreate(i, true, params, discordgo.WithContext(ctx))
			return err
		})
	}
	if first < 0 {
		// The neutral note goes once the private answers are out.
		b.send(ix.channel, platform.High, func(ctx context.Context) error {
			i, err := ix.open(time.Now())
			if err != nil {
				return err
			}
			return b.api.InteractionResponseDelete(i, discordgo.WithContext(ctx))
		})
	}
}
