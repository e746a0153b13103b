package twitch

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/platform"
)

// syncLoop keeps the served channels equal to the linked channels whose
// lease this instance holds, every SyncEvery, and notices a bot account
// connected or refreshed while the bot reads anonymously.
func (b *Bot) syncLoop(ctx context.Context) {
	t := time.NewTicker(b.cfg.SyncEvery)
	defer t.Stop()
	for {
		b.syncChannels(ctx)
		b.checkBotToken(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bot) syncChannels(ctx context.Context) {
	links, err := b.cfg.Links.List(ctx, Platform)
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "cannot list the linked channels: keeping the current ones", "err", err)
		}
		return
	}
	wanted := make([]string, 0, len(links))
	for _, l := range links {
		login := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(l.Server), "#"))
		if validLogin(login) && !slices.Contains(wanted, login) {
			wanted = append(wanted, login)
		}
	}
	b.unsubscribeUnlinked(ctx, wanted)
	held, err := b.cfg.Leases.Sync(ctx, leasePrefix, wanted)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if time.Since(b.synced) < platform.LeaseTTL {
			b.log.WarnContext(ctx, "cannot renew the channel leases: keeping the current channels", "err", err)
			return
		}
		// The leases have lapsed: another instance may serve the channels now.
		b.log.ErrorContext(ctx, "cannot renew the channel leases: leaving the channels until they can be renewed", "err", err)
		held = nil
	} else {
		b.synced = time.Now()
	}
	b.apply(ctx, held)
}

// unsubscribeUnlinked deletes the EventSub subscriptions of the channels
// this instance served that are no longer linked. (A channel unlinked while
// no instance served it keeps its subscriptions; its events are stored and
// marked "not linked".)
func (b *Bot) unsubscribeUnlinked(ctx context.Context, wanted []string) {
	if b.cfg.EventSubSecret == "" || b.cfg.CallbackURL == "" {
		return
	}
	b.mu.Lock()
	var gone []string
	for _, ch := range b.held {
		if !slices.Contains(wanted, ch) {
			gone = append(gone, ch)
		}
	}
	b.mu.Unlock()
	for _, ch := range gone {
		if err := b.unsubscribe(ctx, ch); err != nil && ctx.Err() == nil {
			b.log.WarnContext(ctx, "cannot delete the EventSub subscriptions of an unlinked channel", "channel", ch, "err", err)
		}
	}
}

// apply makes held the served channels.
func (b *Bot) apply(ctx context.Context, held []string) {
	slices.Sort(held)
	b.mu.Lock()
	var gained, lost []string
	for _, ch := range held {
		if !b.holdSet[ch] {
			gained = append(gained, ch)
		}
	}
	for _, ch := range b.held {
		if !slices.Contains(held, ch) {
			lost = append(lost, ch)
		}
	}
	b.held = held
	b.holdSet = map[string]bool{}
	for _, ch := range held {
		b.holdSet[ch] = true
	}
	if b.up && (len(gained) > 0 || len(lost) > 0) {
		b.reconcileLocked()
	}
	for _, ch := range lost {
		delete(b.modIn, ch)
		delete(b.roomIDs, ch)
	}
	b.mu.Unlock()
	if len(gained) > 0 || len(lost) > 0 {
		b.log.InfoContext(ctx, "twitch channels changed", "joined", gained, "left", lost, "serving", len(held))
	}
	if len(gained) > 0 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	b.setStatus()
}

// checkBotToken refreshes the bot account's token before it expires, and
// restarts an anonymous session once a usable token is stored.
func (b *Bot) checkBotToken(ctx context.Context) {
	tok, err := b.helix.userToken(ctx, platform.BotSubject)
	b.mu.Lock()
	anon, refused, c, up := b.anonymous, b.refused, b.client, b.up
	b.mu.Unlock()
	if err != nil || !anon || !up || c == nil || tok.Access == "" || tok.Access == refused || tok.AccountLogin == "" {
		return
	}
	b.log.InfoContext(ctx, "the bot account is connected: logging in to chat with it")
	c.Disconnect()
}

// validLogin accepts what Twitch allows in a login.
func validLogin(s string) bool {
	if s == "" || len(s) > 25 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
