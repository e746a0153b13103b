package slackbot

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Send sends m, a message without an incoming event, through the response
// path and its send queue: a post in channel m.Channel of the linked
// workspace m.Server, or a DM from the app to m.User. The router checked
// that the community linked m.Server. Send uses the workspace's own token,
// or SLACK_BOT_TOKEN only for the workspace that token belongs to, so a
// community reaches no other workspace through the bot. Like Respond, it
// waits for Slack's answer, and returns Slack's refusal (channel_not_found,
// not_in_channel…) as a problem.
func (b *Bot) Send(ctx context.Context, _ int64, m router.Message) error {
	_, shared, err := b.tokenOf(ctx, m.Server)
	if errors.Is(err, errNoToken) {
		return problem.New(problem.Conflict, "The Slack app is not installed in workspace %s: install it from the hub.", m.Server)
	}
	if errors.Is(err, errReinstall) {
		return problem.New(problem.Conflict, "The Slack app's token for workspace %s expired and Slack refused to refresh it: install the app again from the hub.", m.Server)
	}
	if err != nil {
		return err
	}
	if shared {
		b.mu.Lock()
		team := b.botTeam
		b.mu.Unlock()
		if team != m.Server {
			return problem.New(problem.Conflict, "The Slack app is not installed in workspace %s (SLACK_BOT_TOKEN is another workspace's, or not checked yet): install it from the hub.", m.Server)
		}
	}
	api, err := b.client(ctx, m.Server)
	if err != nil {
		return err
	}
	ev := router.Event{Platform: router.Slack, Server: m.Server, Channel: m.Channel}
	if m.User != "" {
		ev.Channel, ev.User.ID = "", m.User // the app's DM with the user
	}
	refused, err := b.deliver(ctx, api, Origin{Event: ev}, router.Result{Responses: []router.Response{{Reply: m.Text}}})
	if err != nil {
		return err
	}
	var se slack.SlackErrorResponse
	if len(refused) > 0 && errors.As(refused[0], &se) && se.Err == "not_in_channel" {
		return problem.Invalidf("channel", "The Slack app is not a member of channel %s: invite it there (/invite) first.", m.Channel)
	}
	if len(refused) > 0 {
		return problem.Invalidf("channel", "Slack refused the message: %v.", refused[0])
	}
	return nil
}
