package main

import (
	"context"
	"strings"
	"testing"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// sentTo is a test bot: it keeps the messages it is asked to send.
type sentTo struct{ got []router.Message }

func (s *sentTo) Send(_ context.Context, _ int64, m router.Message) error {
	s.got = append(s.got, m)
	return nil
}

// TestBotSenderDispatchesByPlatform: a message goes to its platform's bot
// and no other; a platform whose bot is off, or an unknown one, is refused
// with a problem that says which.
func TestBotSenderDispatchesByPlatform(t *testing.T) {
	twitch, slack := &sentTo{}, &sentTo{}
	s := &botSender{bots: map[string]router.Sender{router.Twitch: twitch, router.Slack: slack}}
	ctx := context.Background()

	if err := s.Send(ctx, 1, router.Message{Platform: router.Slack, Server: "T1", Channel: "C1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(slack.got) != 1 || slack.got[0].Channel != "C1" || len(twitch.got) != 0 {
		t.Errorf("slack got %+v, twitch got %+v: want the message at slack only", slack.got, twitch.got)
	}

	err := s.Send(ctx, 1, router.Message{Platform: router.Discord, Server: "3000", Channel: "50", Text: "hi"})
	if p := problem.As(err); p == nil || p.Code != problem.Conflict || !strings.Contains(p.Message, "Discord bot is off") {
		t.Errorf("send with the Discord bot off: %v, want a conflict naming Discord", err)
	}
	err = s.Send(ctx, 1, router.Message{Platform: "irc", Server: "x", Channel: "y", Text: "hi"})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send to an unknown platform: %v, want invalid", err)
	}
	if n := len(twitch.got) + len(slack.got); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}
