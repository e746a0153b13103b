package twitch

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/platform"
)

// syncLoop keeps the served channels equal to the linked channels whose
// lease this instance holds, every SyncEvery (leaseWatch leaves them when
// the leases are not renewed in time), and notices a bot account
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
	keep := b.leaseKeep()
	listCtx, cancel := context.WithTimeout(ctx, keep)
	links, err := b.cfg.Links.List(listCtx, Platform)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "cannot list the linked channels: keeping the current ones while their leases last", "err", err)
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
	// A lease renewed by this query ends no sooner than TTL after it starts.
	start := time.Now()
	syncCtx, cancel := context.WithTimeout(ctx, keep)
	held, err := b.cfg.Leases.Sync(syncCtx, leasePrefix, wanted)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		until := b.leaseUntil
		b.mu.Unlock()
		if time.Now().Before(until) {
			b.log.WarnContext(ctx, "cannot renew the channel leases: keeping the current channels while the leases last", "err", err, "until", until)
			return
		}
		b.log.ErrorContext(ctx, "cannot renew the channel leases", "err", err)
		b.lapse(ctx)
		return
	}
	b.apply(ctx, held, start.Add(keep))
}

// leaseKeep is how long after a renewal starts the held channels are
// served without another: the leases' TTL less two renewal periods, so the
// bot has left a channel before another instance can take it over.
func (b *Bot) leaseKeep() time.Duration {
	return max(b.cfg.LeaseTTL-2*b.cfg.SyncEvery, b.cfg.LeaseTTL/2)
}

// leaseWatch leaves the held channels when their leases were not renewed in
// time, even while a renewal hangs.
func (b *Bot) leaseWatch(ctx context.Context) {
	t := time.NewTimer(b.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(b.lapse(ctx))
	}
}

// lapse leaves every held channel once the leases' renewal is overdue, and
// returns how long until it should look again.
func (b *Bot) lapse(ctx context.Context) time.Duration {
	b.mu.Lock()
	if len(b.held) == 0 {
		b.mu.Unlock()
		return b.cfg.SyncEvery
	}
	if wait := time.Until(b.leaseUntil); wait > 0 {
		b.mu.Unlock()
		return wait
	}
	gained, lost := b.holdLocked(nil)
	b.mu.Unlock()
	b.log.ErrorContext(ctx, "the channel leases were not renewed in time: leaving the channels until they are, as another instance may take them over")
	b.changed(ctx, gained, lost)
	return b.cfg.SyncEvery
}

// unsubscribeUnlinked marks the channels this instance served that are no
// longer linked, for subscriptionsLoop to delete their EventSub subscriptions. (A channel unlinked while
// no instance served it keeps its subscriptions; its events are stored and
// marked "not linked".)
func (b *Bot) unsubscribeUnlinked(ctx context.Context, wanted []string) {
	if b.cfg.EventSubSecret == "" || b.cfg.CallbackURL == "" {
		return
	}
	// The Helix calls run in subscriptionsLoop, so they never delay a lease renewal.
	b.mu.Lock()
	gone := false
	for _, ch := range b.held {
		if !slices.Contains(wanted, ch) {
			b.unlinked[ch] = true
			gone = true
		}
	}
	b.mu.Unlock()
	if gone {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// apply makes held the served channels, until until unless renewed.
func (b *Bot) apply(ctx context.Context, held []string, until time.Time) {
	if !time.Now().Before(until) {
		held = nil // the renewal took too long to rely on: the next one takes them back
	}
	b.mu.Lock()
	b.leaseUntil = until
	gained, lost := b.holdLocked(held)
	b.mu.Unlock()
	b.changed(ctx, gained, lost)
}

// holdLocked makes held the served channels: the session joins and departs,
// and the workers of the lost channels stop, leaving their waiting messages
// to the instance that takes the channels over. b.mu is held.
func (b *Bot) holdLocked(held []string) (gained, lost []string) {
	held = slices.Clone(held)
	slices.Sort(held)
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
		delete(b.modNo, ch)
		delete(b.viaEventSub, ch)
		delete(b.ircWhy, ch)
		delete(b.roomIDs, ch)
		if w := b.workers[ch]; w != nil {
			close(w.stop)
			delete(b.workers, ch)
		}
	}
	return gained, lost
}

// changed reports a change of the served channels.
func (b *Bot) changed(ctx context.Context, gained, lost []string) {
	if len(gained) > 0 || len(lost) > 0 {
		b.mu.Lock()
		n := len(b.held)
		b.mu.Unlock()
		b.log.InfoContext(ctx, "twitch channels changed", "joined", gained, "left", lost, "serving", n)
	}
	// A channel gained is subscribed; one lost closes its EventSub WebSocket.
	if len(gained) > 0 || (len(lost) > 0 && b.cfg.Transport == TransportWebSocket) {
		select {
		case b.kick <- struct{}{}:
		default:
		}
		b.kickTokens()
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
	if isNeedsReconnect(err) && !anon && up && c != nil {
		// Marked as needing a reconnect after this session logged in with it.
		b.log.WarnContext(ctx, "the bot account's token needs reconnecting: reading chat anonymously")
		c.Disconnect()
		return
	}
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
