package twitch

import (
	"context"
	"fmt"
	"strings"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Send queues m, a message without an incoming event, on the bot's send
// queue: a chat message in the linked channel m.Server (a Twitch channel is
// its own only chat), or a whisper to the user m.User. The router checked
// that the community linked m.Server. It returns once the message is queued
// (the send queue's budget decides when it goes out), or, for a whisper with
// m.Wait, once Twitch answered.
func (b *Bot) Send(ctx context.Context, _ int64, m router.Message) error {
	ch := strings.ToLower(m.Server)
	if m.User != "" {
		if err := b.whisperTo(ctx, m.User, m.Text, platform.High, m.Wait); err != nil {
			return fmt.Errorf("twitch whisper: %w", err)
		}
		return nil
	}
	if got := strings.ToLower(strings.TrimPrefix(m.Channel, "#")); got != ch {
		return problem.Invalidf("channel", "On Twitch a message goes to the linked channel itself: %s, not %s.", ch, m.Channel)
	}
	b.mu.Lock()
	via := b.transportOf(ch)
	b.mu.Unlock()
	if err := b.sayIn(ch, m.Text, "", platform.High, via); err != nil {
		return fmt.Errorf("twitch chat: %w", err)
	}
	return nil
}
