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
	// Commands and modal submits are deferred first of all; the edits that
	// follow are queued with ix.
	_, isCommand := i.Data.(discordgo.ApplicationCommandInteractionData)
	_, isModal := i.Data.(discordgo.ModalSubmitInteractionData)
	if isCommand && i.Type != discordgo.InteractionApplicationCommandAutocomplete || isModal {
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	}
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
		res, ok := b.handle(ctx, ev)
		b.deliverInteraction(ctx, ix, t, res, ok)
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
	case discordgo.ModalSubmitInteractionData:
		ev.Kind, ev.Text, ev.Data = router.ModalSubmit, runes.Truncate(d.CustomID, router.MaxTextLen, ""), fields(d.Components)
		res, ok := b.handle(ctx, ev)
		b.deliverInteraction(ctx, ix, t, res, ok)
	default:
		b.log.DebugContext(ctx, "interaction ignored: unknown type", "type", int(i.Type))
	}
}

// fields reads a modal's text inputs.
func fields(rows []discordgo.MessageComponent) map[string]any {
	out := map[string]any{}
	for _, row := range rows {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if in, ok := c.(*discordgo.TextInput); ok && in.CustomID != "" && len(out) < 50 {
				out[runes.TruncateBytes(in.CustomID, 100)] = runes.Truncate(in.Value, 4000, "")
			}
		}
	}
	return out
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

// click handles a button or select: a form the router answers with within
// budget opens as a modal; otherwise the click is deferred and answered
// with a message.
func (b *Bot) click(ctx context.Context, i *discordgo.Interaction, ix interaction, t target, ev router.Event, budget time.Duration) {
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
		for k, resp := range r.res.Responses {
			if resp.Form != nil && len(resp.Form.ID) <= 100 && resp.Form.ID != "" {
				b.respond(ctx, i, modal(*resp.Form))
				r.res.Responses = append(r.res.Responses[:k:k], r.res.Responses[k+1:]...)
				b.deliver(ctx, t, r.res)
				return
			}
		}
		if !r.ok || !sendable(r.res) {
			b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
			b.deliver(ctx, t, r.res) // moderation only
			return
		}
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		b.deliverInteraction(ctx, ix, t, r.res, r.ok)
	case <-timer.C:
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		r := <-done
		b.deliverInteraction(ctx, ix, t, r.res, r.ok)
	}
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
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "This form has expired.", Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	b.respond(ctx, i, modal(f))
}

// respond sends the first answer to an interaction at once, outside the
// send queue: Discord drops an interaction not answered within 3 seconds.
func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, r *discordgo.InteractionResponse) {
	if err := b.check(b.api.InteractionRespond(i, r, discordgo.WithContext(ctx))); err != nil {
		b.log.WarnContext(ctx, "answer interaction", "err", err, "type", int(r.Type))
	}
}

// deliverInteraction sends the responses to a deferred interaction: the
// first public one edits the deferred message, the rest are followups,
// private ones ephemeral.
func (b *Bot) deliverInteraction(ctx context.Context, ix interaction, t target, res router.Result, ok bool) {
	var parts []part
	for _, r := range res.Responses {
		if p := b.act(ctx, t, r); !p.empty() {
			parts = append(parts, p)
		}
	}
	public := false
	for _, p := range parts {
		public = public || !p.private
	}
	if len(parts) == 0 {
		note := "Nothing to show."
		if !ok {
			note = "This server is not linked to a Waddle community, or the command failed."
		}
		parts, public = []part{{content: note}}, true
	}
	edited := false
	for _, p := range parts {
		if !p.private && !edited {
			edited = true
			b.send(ix.channel, platform.High, func(ctx context.Context) error {
				i, err := ix.open(time.Now())
				if err != nil {
					return err
				}
				_, err = b.api.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &p.content, Embeds: &p.embeds,
					Components: &p.components, AllowedMentions: noMassMentions}, discordgo.WithContext(ctx))
				return err
			})
			continue
		}
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
	if !public {
		// Only private answers: the public "thinking…" message goes.
		b.send(ix.channel, platform.High, func(ctx context.Context) error {
			i, err := ix.open(time.Now())
			if err != nil {
				return err
			}
			return b.api.InteractionResponseDelete(i, discordgo.WithContext(ctx))
		})
	}
}
