package slackbot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Respond delivers the router's responses to one Slack event: replies
// through the event's response URL (slash commands, message buttons;
// within its five posts in thirty minutes) or the Web API, forms as
// modals, moderation as chat.delete or an ephemeral notice. Every call goes through the send queue; Respond waits, with ctx, for
// the outcome of each, and returns at the first that failed or that the
// send queue dropped (its queue full, or shut down), or with ctx's error when
// ctx ends first, so the job is retried (and the router answers the retry
// with the same result). Slack's refusals (channel_not_found,
// cant_delete_message…) are logged, not retried. A retry on this instance
// sends again only the calls that failed or were dropped: it waits for
// those still queued and skips those already made.
func (b *Bot) Respond(ctx context.Context, from Origin, res router.Result) error {
	ev := from.Event
	api, err := b.client(ctx, ev.Server)
	if errors.Is(err, errNoToken) || errors.Is(err, errReinstall) {
		b.logger.WarnContext(ctx, "slack responses dropped: no usable bot token for the workspace", "team", ev.Server, "event", ev.ID, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	refused, err := b.deliver(ctx, api, from, res)
	for _, r := range refused {
		b.logger.WarnContext(ctx, "slack refused a response", "event", ev.ID, "err", r)
	}
	return err
}

// deliver makes the calls of res through the send queue and waits for
// them, as Respond says; Slack's refusals are returned apart, not as err.
func (b *Bot) deliver(ctx context.Context, api *slack.Client, from Origin, res router.Result) (refused []error, err error) {
	ev := from.Event
	type wait struct {
		what string
		f    *flight
	}
	var waits []wait
	for i, r := range res.Responses {
		for _, s := range b.plan(ctx, api, from, r) {
			// A response makes at most one call of each kind: the key
			// names the same call whichever of its response's parts are
			// asked for (the prompt lane asks for forms only).
			key := ""
			if ev.ID != "" {
				key = fmt.Sprintf("%s/%s/%d/%s/%s", ev.Server, ev.ID, i, s.what, s.key)
			}
			f, earlier := b.sent.start(key, time.Now())
			if !earlier {
				if err := b.queue.SendNotify(s.key, platform.High, f.run(s.send), f.finish); err != nil {
					f.finish(err)
					return refused, fmt.Errorf("queue slack %s: %w", s.what, err)
				}
			}
			waits = append(waits, wait{s.what, f})
		}
	}
	for _, w := range waits {
		select {
		case <-w.f.done:
			var se slack.SlackErrorResponse
			switch err := w.f.err; {
			case err == nil:
			case errors.As(err, &se):
				refused = append(refused, err)
			default:
				return refused, fmt.Errorf("slack %s: %w", w.what, err)
			}
		case <-ctx.Done():
			b.logger.InfoContext(ctx, "slack responses still queued when the time to answer ran out", "event", ev.ID)
			return refused, fmt.Errorf("wait for slack responses: %w", ctx.Err())
		}
	}
	return refused, nil
}

// sendStep is one Slack call for a response.
type sendStep struct {
	what string
	key  string // send queue: team/channel, or a view key
	send func(context.Context) error
}

const viewKeyPrefix = "views:"

func isViewKey(key string) bool { return strings.HasPrefix(key, viewKeyPrefix) }

// plan turns one response into Slack calls.
func (b *Bot) plan(ctx context.Context, api *slack.Client, from Origin, r router.Response) []sendStep {
	ev := from.Event
	where := ev.Channel
	if where == "" {
		where = ev.User.ID // no channel (team_join): the app's DM with the user
	}
	key := ev.Server + "/" + where
	var steps []sendStep
	if m := r.Moderation; m != nil {
		switch m.Action {
		case router.ActionDelete:
			ts, _ := ev.Data["ts"].(string)
			if ts == "" || ev.Channel == "" {
				b.logger.InfoContext(ctx, "slack: no message to delete", "event", ev.ID)
				break
			}
			steps = append(steps, sendStep{"chat.delete", key, func(ctx context.Context) error {
				_, _, err := api.DeleteMessageContext(ctx, ev.Channel, ts)
				var se slack.SlackErrorResponse
				if errors.As(err, &se) {
					// Bot tokens may delete only the app's own messages.
					b.logger.WarnContext(ctx, "slack would not let the app delete the message", "channel", ev.Channel, "ts", ts, "err", err)
					return nil
				}
				return err
			}})
		case router.ActionWarn, router.ActionTimeout, router.ActionBan:
			text := replyText(r)
			if text == "" {
				text = escape(m.Reason)
			}
			if m.Action != router.ActionWarn {
				b.logger.InfoContext(ctx, "slack does not let bots time out or ban members; the user is only warned",
					"action", m.Action, "team", ev.Server, "user", ev.User.ID)
				if text == "" {
					text = "Your message broke a rule of this workspace; a moderator has been told."
				}
			}
			if text == "" || ev.Channel == "" {
				return steps
			}
			return append(steps, sendStep{"chat.postEphemeral", key, func(ctx context.Context) error {
				_, err := api.PostEphemeralContext(ctx, ev.Channel, ev.User.ID, slack.MsgOptionText(text, false))
				return err
			}})
		}
	}
	if f := r.Form; f != nil {
		switch {
		case from.TriggerID == "":
			b.logger.InfoContext(ctx, "slack: a form can only open after a slash command or a button click", "event", ev.ID, "form", f.ID)
		case len(modal(f, ev.Channel).Blocks.BlockSet) == 0:
			b.logger.WarnContext(ctx, "slack: a form without fields is not opened (Slack refuses an empty modal)", "event", ev.ID, "form", f.ID)
		case !from.At.IsZero() && time.Since(from.At) >= triggerLife:
			// Slack refuses the trigger id now (expired_trigger_id): say so
			// to the user rather than leave the click unanswered.
			b.logger.WarnContext(ctx, "slack: the form's trigger id expired before it could open", "event", ev.ID, "form", f.ID, "age", time.Since(from.At))
			if ev.Channel != "" {
				steps = append(steps, sendStep{"chat.postEphemeral (form expired)", key, func(ctx context.Context) error {
					_, err := api.PostEphemeralContext(ctx, ev.Channel, ev.User.ID,
						slack.MsgOptionText("The form could not open in time: please try again.", false))
					return err
				}})
			}
		default:
			view := modal(f, ev.Channel)
			steps = append(steps, sendStep{"views.open", viewKeyPrefix + ev.Server, func(ctx context.Context) error {
				_, err := api.OpenViewContext(ctx, from.TriggerID, view)
				return err
			}})
		}
	}
	text, blocks := message(r)
	if text == "" {
		return steps
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	// webAPI answers through the Web API: privately with chat.postEphemeral
	// (or, where the app is not in the channel, in the app's DM with the
	// user), else with chat.postMessage, in the thread when there is one.
	webAPI := func(ctx context.Context) error {
		if r.Private && ev.Channel != "" {
			_, err := api.PostEphemeralContext(ctx, ev.Channel, ev.User.ID, opts...)
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || (se.Err != "not_in_channel" && se.Err != "channel_not_found") {
				return err
			}
			b.logger.InfoContext(ctx, "slack app not in the channel: the private answer goes to the user's DM with the app", "channel", ev.Channel, "event", ev.ID)
			_, _, err = api.PostMessageContext(ctx, ev.User.ID, opts...)
			return err
		}
		popts := opts
		if ts, _ := ev.Data["thread_ts"].(string); ts != "" {
			popts = append(popts[:len(popts):len(popts)], slack.MsgOptionTS(ts))
		}
		_, _, err := api.PostMessageContext(ctx, where, popts...)
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "not_in_channel" {
			b.logger.WarnContext(ctx, "slack app is not a member of the channel: invite it with /invite to answer there", "channel", where, "event", ev.ID)
		}
		return err
	}
	what := "chat.postMessage"
	if r.Private && ev.Channel != "" {
		what = "chat.postEphemeral"
	}
	if from.ResponseURL != "" {
		if b.allowedResponseURL(from.ResponseURL) {
			kind := slack.ResponseTypeInChannel
			if r.Private {
				kind = slack.ResponseTypeEphemeral
			}
			msg := &slack.WebhookMessage{Text: text, ResponseType: kind}
			if len(blocks) > 0 {
				msg.Blocks = &slack.Blocks{BlockSet: blocks}
			}
			// The response URL, within its five posts in thirty minutes
			// (it also works where the app is not a member); then, or once
			// Slack says it expired or is used up, the Web API.
			return append(steps, sendStep{"response_url", key, func(ctx context.Context) error {
				if b.replyURLs.take(from.ResponseURL, from.At, time.Now()) {
					err := redactURL(slack.PostWebhookCustomHTTPContext(ctx, from.ResponseURL, b.http, msg), from.ResponseURL)
					if !deadURL(err) {
						return err
					}
					b.replyURLs.kill(from.ResponseURL)
					b.logger.InfoContext(ctx, "slack response_url expired or used up: answering through the Web API", "event", ev.ID, "err", err)
				} else {
					b.logger.InfoContext(ctx, "slack response_url used up or older than 30 minutes: answering through the Web API", "event", ev.ID)
				}
				return webAPI(ctx)
			}})
		}
		b.logger.WarnContext(ctx, "slack response_url is not Slack's: answering through the Web API instead", "event", ev.ID)
	}
	return append(steps, sendStep{what, key, webAPI})
}

// redactURL returns err without the secret-bearing address raw (a
// response URL lets whoever knows it post into the channel): errors are
// logged and stored with the job.
func redactURL(err error, raw string) error {
	if err == nil || raw == "" {
		return err
	}
	shown := "(response_url)"
	if u, perr := url.Parse(raw); perr == nil && u.Host != "" {
		shown = u.Scheme + "://" + u.Host + "/…"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
	}
	if strings.Contains(err.Error(), raw) {
		return errors.New(strings.ReplaceAll(err.Error(), raw, shown))
	}
	return fmt.Errorf("post to response_url: %w", err)
}

// allowedResponseURL reports whether u is a Slack response URL (or on the
// test API's host): Waddle never posts to an address a request names.
func (b *Bot) allowedResponseURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	if b.hooks != nil && u.Scheme == b.hooks.Scheme && u.Host == b.hooks.Host {
		return true
	}
	host := u.Hostname()
	return u.Scheme == "https" && u.Port() == "" &&
		(host == "hooks.slack.com" || host == "hooks.slack-gov.com")
}

// message renders a response's text (the notification fallback) and its
// Block Kit blocks: the reply, the embed as a section with fields, the
// buttons as an actions block. No blocks for plain text.
func message(r router.Response) (string, []slack.Block) {
	reply := replyText(r)
	text := reply
	if text == "" && r.Embed != nil {
		text = escape(strings.TrimSpace(r.Embed.Title + "\n" + r.Embed.Description))
	}
	if text == "" && r.Embed != nil && len(r.Embed.Fields) > 0 {
		var lines []string
		for _, f := range r.Embed.Fields {
			lines = append(lines, escape(f.Name+": "+f.Value))
		}
		text = strings.Join(lines, "\n")
	}
	if text == "" && len(r.Buttons) > 0 {
		text = "Choose:"
	}
	if r.Embed == nil && len(r.Buttons) == 0 {
		return runes.Truncate(text, 4000, "…"), nil
	}
	var blocks []slack.Block
	if reply != "" {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, runes.Truncate(reply, 3000, "…"), false, false), nil, nil))
	}
	if e := r.Embed; e != nil {
		head := escape(e.Title)
		if head != "" {
			head = "*" + head + "*"
			if e.URL != "" {
				head = "<" + escape(strings.ReplaceAll(e.URL, "|", "%7C")) + "|" + escape(e.Title) + ">"
			}
		}
		body := strings.TrimSpace(head + "\n" + escape(e.Description))
		var fields []*slack.TextBlockObject
		for i, f := range e.Fields {
			if i == 10 { // Slack's limit per section
				break
			}
			fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, runes.Truncate("*"+escape(f.Name)+"*\n"+escape(f.Value), 2000, "…"), false, false))
		}
		var bodyText *slack.TextBlockObject
		if body != "" {
			bodyText = slack.NewTextBlockObject(slack.MarkdownType, runes.Truncate(body, 3000, "…"), false, false)
		}
		if bodyText != nil || len(fields) > 0 {
			blocks = append(blocks, slack.NewSectionBlock(bodyText, fields, nil))
		}
	}
	if len(r.Buttons) > 0 {
		var els []slack.BlockElement
		seen := map[string]bool{}
		for _, bt := range r.Buttons {
			id := runes.Truncate(bt.ID, 255, "…") // an action_id is unique within the message
			if len(els) == 25 || bt.ID == "" || seen[id] {
				continue
			}
			seen[id] = true
			label := bt.Label
			if label == "" {
				label = bt.ID
			}
			els = append(els, slack.NewButtonBlockElement(id, runes.Truncate(bt.ID, 2000, "…"),
				slack.NewTextBlockObject(slack.PlainTextType, runes.Truncate(label, 75, "…"), false, false)))
		}
		if len(els) > 0 {
			blocks = append(blocks, slack.NewActionBlock("", els...))
		}
	}
	return runes.Truncate(text, 4000, "…"), blocks
}

// modal renders a form: its ID comes back as the submission's callback_id,
// each field is an input whose block and action ids are the field's ID, and
// the channel it was opened from rides along as private metadata.
func modal(f *router.Form, channel string) slack.ModalViewRequest {
	title := f.Title
	if title == "" {
		title = "Waddle"
	}
	var blocks []slack.Block
	for i, fl := range f.Fields {
		if i == 50 || fl.ID == "" {
			break
		}
		label := fl.Label
		if label == "" {
			label = fl.ID
		}
		in := slack.NewInputBlock(runes.Truncate(fl.ID, 255, "…"), slack.NewTextBlockObject(slack.PlainTextType, runes.Truncate(label, 2000, "…"), false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, runes.Truncate(fl.ID, 255, "…")))
		blocks = append(blocks, in)
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, runes.Truncate(title, 24, "…"), false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      runes.Truncate(f.ID, 255, "…"),
		PrivateMetadata: channel,
	}
}
