package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/waddle/waddle/platform"
)

// maxChatSessionSubs is how many enabled subscriptions Twitch allows on one
// EventSub WebSocket session: the bot's chat session reads at most this
// many channels.
const maxChatSessionSubs = 300

// Why a channel's chat stays on IRC with the EventSub WebSocket transport.
const (
	whyChatConnLimit   = "Twitch allows 3 EventSub WebSocket connections per bot account and all are in use (by other instances or programs): chat stays on IRC until one is free"
	whyChatSessionDown = "the bot's EventSub chat session is reconnecting"
)

// chatWS is the bot account's one EventSub WebSocket session for chat on
// this instance: Twitch takes channel.chat.message only with the bot's
// token, allows 3 WebSocket connections per user token, and wants every
// subscription of a session made by one user, so chat cannot ride on the
// channels' sessions (made with each owner's token).
type chatWS struct {
	b    *Bot
	mu   sync.Mutex
	subs map[string]string // held channel → its chat subscription id on the live session

	// Chat messages are handled here, one channel's at a time in the order
	// they arrived, so two quick commands are answered in order (jobs run
	// in parallel). Each message's job is held back by chatJobHold and
	// finds it processed; it handles what this instance could not (a
	// crash, a full queue, an error).
	ctx    context.Context // the queues' lifetime: chatSessionLoop's
	worker *EventSubWorker
	queues map[string]chan int64 // by broadcaster id
	wait   sync.WaitGroup
}

// chatJobHold is how long the job of a chat message read on the bot's
// chat session waits before it handles what this instance did not.
const chatJobHold = time.Minute

// chatQueueLen bounds one channel's chat messages waiting here; past it
// their jobs answer them, late.
const chatQueueLen = 256

// chatSessionLoop keeps the bot's chat session while this instance holds
// a channel whose chat can go over EventSub: each such channel gets a
// channel.chat.message subscription on it, made or deleted as channels are
// gained or lost. A channel it cannot take stays on IRC with the reason.
func (b *Bot) chatSessionLoop(ctx context.Context) {
	c := &chatWS{b: b, subs: map[string]string{}, ctx: ctx, queues: map[string]chan int64{},
		worker: &EventSubWorker{Deliveries: b.cfg.EventSub.deliveries, Router: b.cfg.Router, Chat: b, Logger: b.log}}
	defer c.stopQueues()
	o := wsOwner{label: "bot chat", subscribe: c.subscribe, live: c.keep, revoked: c.revoked, handle: c.handle}
	t := time.NewTicker(b.cfg.SubscriptionsEvery)
	defer t.Stop()
	failures := 0
	for ctx.Err() == nil {
		if len(c.eligible(ctx)) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-b.chatKick:
			case <-t.C:
			}
			continue
		}
		subscribed, err := b.wsSession(ctx, o)
		c.dropAll(ctx)
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			failures = 0
		} else {
			failures++
		}
		if err != nil {
			b.log.WarnContext(ctx, "the bot's eventsub chat session ended", "err", err, "failures", failures)
		}
		var closed *wsClosed
		if failures == 0 && errors.As(err, &closed) && closed.code == closeUnused {
			continue
		}
		if !sleepCtx(ctx, backoff(b.cfg.ReconnectBackoff, max(failures, 1))) {
			return
		}
	}
}

// chatTarget is a held channel whose chat can go over EventSub.
type chatTarget struct{ casterID, botID string }

// eligible returns the held channels whose chat can go over EventSub, and
// puts the others on IRC with the reason.
func (c *chatWS) eligible(ctx context.Context) map[string]chatTarget {
	b := c.b
	b.mu.Lock()
	held := slices.Clone(b.held)
	b.mu.Unlock()
	out := map[string]chatTarget{}
	for _, ch := range held {
		if ctx.Err() != nil {
			return out
		}
		id, err := b.broadcasterID(ctx, ch)
		if err != nil {
			b.setTransport(ctx, ch, TransportIRC, "cannot look the channel up on Twitch")
			continue
		}
		botID, why := b.chatEligible(ctx, ch, id)
		if why != "" {
			b.setTransport(ctx, ch, TransportIRC, why)
			continue
		}
		out[ch] = chatTarget{casterID: id, botID: botID}
	}
	return out
}

// subscribe makes the chat subscriptions of a fresh session; the session
// is kept only when at least one was made.
func (c *chatWS) subscribe(ctx context.Context, session string) (bool, error) {
	err := c.sync(ctx, session)
	c.mu.Lock()
	n := len(c.subs)
	c.mu.Unlock()
	if n > 0 {
		c.b.log.InfoContext(ctx, "the bot's eventsub chat session is connected", "channels", n)
	}
	return n > 0, err
}

// keep brings the live session's subscriptions up to date when the held
// channels change, and every SubscriptionsEvery (a broadcaster who granted
// channel:bot meanwhile).
func (c *chatWS) keep(ctx context.Context, session string) {
	t := time.NewTicker(c.b.cfg.SubscriptionsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.b.chatKick:
		case <-t.C:
		}
		if err := c.sync(ctx, session); err != nil && ctx.Err() == nil {
			c.b.log.WarnContext(ctx, "cannot update the bot's eventsub chat subscriptions", "err", err)
		}
	}
}

// sync deletes the chat subscriptions of channels no longer served here
// (so the instance that takes one over is its only reader) and creates
// those of the eligible held channels, up to b.chatSessionMax (in name
// order; the others stay on IRC).
func (c *chatWS) sync(ctx context.Context, session string) error {
	b := c.b
	want := c.eligible(ctx)
	c.mu.Lock()
	have := make(map[string]string, len(c.subs))
	for ch, id := range c.subs {
		have[ch] = id
	}
	c.mu.Unlock()
	var errs []error
	for ch, id := range have {
		if _, ok := want[ch]; ok {
			continue
		}
		c.forget(ch)
		if id == "" {
			continue
		}
		err := b.helix.call(ctx, http.MethodDelete, "/eventsub/subscriptions", url.Values{"id": {id}}, nil, platform.BotSubject, nil)
		var he *HelixError
		if err != nil && !(errors.As(err, &he) && he.Status == http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("delete the chat subscription of %s: %w", ch, err))
			continue
		}
		b.log.InfoContext(ctx, "deleted the chat subscription of a channel no longer served here", "channel", ch)
	}
	chans := make([]string, 0, len(want))
	for ch := range want {
		if _, ok := have[ch]; !ok {
			chans = append(chans, ch)
		}
	}
	slices.Sort(chans)
	limited := false
	for _, ch := range chans {
		c.mu.Lock()
		n := len(c.subs)
		c.mu.Unlock()
		switch {
		case limited:
			b.setTransport(ctx, ch, TransportIRC, whyChatConnLimit)
			continue
		case n >= b.chatSessionMax:
			b.setTransport(ctx, ch, TransportIRC, "the bot's EventSub chat session already reads "+channels(n)+", Twitch's limit per session")
			continue
		}
		t := want[ch]
		sub := chatSubscription(t.casterID, t.botID)
		body := map[string]any{"type": sub.Type, "version": sub.Version, "condition": sub.Condition,
			"transport": map[string]string{"method": "websocket", "session_id": session}}
		var out struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		err := b.helix.call(ctx, http.MethodPost, "/eventsub/subscriptions", nil, body, platform.BotSubject, &out)
		var he *HelixError
		var ra *platform.RetryAfter
		switch {
		case err == nil, errors.As(err, &he) && he.Status == http.StatusConflict:
			id := ""
			if len(out.Data) > 0 {
				id = out.Data[0].ID
			}
			c.mu.Lock()
			c.subs[ch] = id
			c.mu.Unlock()
			b.setTransport(ctx, ch, TransportEventSub, "")
		case errors.As(err, &ra):
			// The 4th connection of the bot's token, or the session full.
			limited = true
			b.setTransport(ctx, ch, TransportIRC, whyChatConnLimit)
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			b.setTransport(ctx, ch, TransportIRC, "Twitch refused the chat subscription: "+err.Error())
			errs = append(errs, fmt.Errorf("subscribe to the chat of %s: %w", ch, err))
		}
	}
	if limited {
		b.log.WarnContext(ctx, "twitch refused the bot's eventsub chat session: its connection limit is reached, so chat stays on IRC")
	}
	return errors.Join(errs...)
}

// forget drops channel's chat subscription from the session's records.
func (c *chatWS) forget(channel string) {
	c.mu.Lock()
	delete(c.subs, channel)
	c.mu.Unlock()
}

// dropAll puts the session's channels back on IRC when it ended: their
// subscriptions ended with it, and IRC reads their chat until a fresh
// session subscribes again.
func (c *chatWS) dropAll(ctx context.Context) {
	c.mu.Lock()
	chans := make([]string, 0, len(c.subs))
	for ch := range c.subs {
		chans = append(chans, ch)
	}
	clear(c.subs)
	c.mu.Unlock()
	for _, ch := range chans {
		c.b.setTransport(ctx, ch, TransportIRC, whyChatSessionDown)
	}
}

// revoked puts a channel whose chat subscription Twitch revoked (a grant
// withdrawn, the bot banned) back on IRC.
func (c *chatWS) revoked(ctx context.Context, m wsMessage) {
	var p struct {
		Subscription struct {
			ID        string            `json:"id"`
			Status    string            `json:"status"`
			Condition map[string]string `json:"condition"`
		} `json:"subscription"`
	}
	if json.Unmarshal(m.Payload, &p) != nil {
		return
	}
	c.mu.Lock()
	var channel string
	for ch, id := range c.subs {
		if id != "" && id == p.Subscription.ID {
			channel = ch
			delete(c.subs, ch)
		}
	}
	c.mu.Unlock()
	if channel != "" {
		c.b.setTransport(ctx, channel, TransportIRC, "Twitch revoked the chat subscription ("+runesCut(p.Subscription.Status)+")")
	}
}

// handle queues a stored chat message for its channel's handler.
func (c *chatWS) handle(deliveryID int64, m wsMessage) {
	var p struct {
		Subscription struct {
			Condition map[string]string `json:"condition"`
		} `json:"subscription"`
	}
	json.Unmarshal(m.Payload, &p)
	caster := p.Subscription.Condition["broadcaster_user_id"]
	c.mu.Lock()
	q, ok := c.queues[caster]
	if !ok && c.ctx.Err() == nil {
		q = make(chan int64, chatQueueLen)
		c.queues[caster] = q
		c.wait.Add(1)
		go func() {
			defer c.wait.Done()
			c.drain(q)
		}()
	}
	c.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- deliveryID:
	default:
		c.b.log.WarnContext(c.ctx, "too many chat messages waiting: the next ones are answered by their jobs, late", "broadcaster_id", runesCut(caster))
	}
}

// drain handles one channel's chat messages in order until the loop ends;
// one that fails is left to its job.
func (c *chatWS) drain(q chan int64) {
	for {
		select {
		case <-c.ctx.Done():
			return
		case id := <-q:
			if err := c.handleOne(id); err != nil && c.ctx.Err() == nil {
				c.b.log.WarnContext(c.ctx, "cannot handle a chat message now: its job will", "delivery", id, "err", err)
			}
		}
	}
}

// handleOne handles a stored chat message, with a timeout and panics
// recovered, as a job would.
func (c *chatWS) handleOne(id int64) (err error) {
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.worker.process(ctx, id)
}

// stopQueues ends the handlers and waits for them.
func (c *chatWS) stopQueues() {
	c.wait.Wait()
}
