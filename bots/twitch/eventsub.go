package twitch

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// subscription is one EventSub subscription a channel needs.
type subscription struct {
	Type      string            `json:"type"`
	Version   string            `json:"version"`
	Condition map[string]string `json:"condition"`
}

// wantedSubscriptions are the EventSub subscriptions of a broadcaster.
func wantedSubscriptions(id string) []subscription {
	caster := map[string]string{"broadcaster_user_id": id}
	return []subscription{
		{Type: "channel.follow", Version: "2", Condition: map[string]string{"broadcaster_user_id": id, "moderator_user_id": id}},
		{Type: "channel.subscribe", Version: "1", Condition: caster},
		{Type: "channel.subscription.gift", Version: "1", Condition: caster},
		{Type: "channel.cheer", Version: "1", Condition: caster},
		{Type: "channel.raid", Version: "1", Condition: map[string]string{"to_broadcaster_user_id": id}},
		{Type: "stream.online", Version: "1", Condition: caster},
		{Type: "stream.offline", Version: "1", Condition: caster},
		{Type: "channel.ban", Version: "1", Condition: caster},
	}
}

type existingSub struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	Type      string            `json:"type"`
	Version   string            `json:"version"`
	Condition map[string]string `json:"condition"`
	Transport struct {
		Method   string `json:"method"`
		Callback string `json:"callback"`
	} `json:"transport"`
}

// subscriptionsLoop checks the EventSub subscriptions of every held channel
// when a channel is gained and every SubscriptionsEvery.
func (b *Bot) subscriptionsLoop(ctx context.Context) {
	if b.cfg.EventSubSecret == "" || b.cfg.CallbackURL == "" {
		b.log.WarnContext(ctx, "TWITCH_EVENTSUB_SECRET or BASE_URL is not set: no EventSub subscriptions, so follows, subscriptions, cheers, raids and stream online/offline are not received")
		b.mu.Lock()
		b.subsNote = "EventSub is off: set TWITCH_EVENTSUB_SECRET, and BASE_URL to the hub's public https address, to receive follows, subscriptions, cheers and raids."
		b.mu.Unlock()
		b.setStatus()
		return
	}
	checked := map[string]time.Time{}
	t := time.NewTicker(b.cfg.SubscriptionsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		case <-t.C:
			clear(checked)
		}
		b.mu.Lock()
		held := append([]string(nil), b.held...)
		unlinked := slices.Collect(maps.Keys(b.unlinked))
		clear(b.unlinked)
		b.mu.Unlock()
		for _, ch := range unlinked {
			delete(checked, ch)
			held = slices.DeleteFunc(held, func(h string) bool { return h == ch }) // not served any more
			if err := b.unsubscribe(ctx, ch); err != nil && ctx.Err() == nil {
				b.log.WarnContext(ctx, "cannot delete the EventSub subscriptions of an unlinked channel", "channel", ch, "err", err)
			}
		}
		for _, ch := range held {
			if ctx.Err() != nil {
				return
			}
			if _, ok := checked[ch]; ok {
				continue
			}
			if err := b.subscribe(ctx, ch); err != nil {
				if ctx.Err() == nil {
					b.log.WarnContext(ctx, "cannot set up the channel's EventSub subscriptions", "channel", ch, "err", err)
				}
				continue
			}
			checked[ch] = time.Now()
		}
	}
}

// listSubscriptions returns the EventSub subscriptions naming the user id.
func (b *Bot) listSubscriptions(ctx context.Context, id string) ([]existingSub, error) {
	var have []existingSub
	q := url.Values{"user_id": {id}}
	for page := 0; page < 10; page++ {
		var out struct {
			Data       []existingSub `json:"data"`
			Pagination struct {
				Cursor string `json:"cursor"`
			} `json:"pagination"`
		}
		if err := b.helix.call(ctx, http.MethodGet, "/eventsub/subscriptions", q, nil, "", &out); err != nil {
			return nil, err
		}
		have = append(have, out.Data...)
		if out.Pagination.Cursor == "" {
			break
		}
		q.Set("after", out.Pagination.Cursor)
	}
	return have, nil
}

// unsubscribe deletes the app's subscriptions for a channel that was
// unlinked, so Twitch stops sending its events. (Helix lists only the
// subscriptions of this app's client id.)
func (b *Bot) unsubscribe(ctx context.Context, channel string) error {
	id, err := b.broadcasterID(ctx, channel)
	if err != nil {
		return err
	}
	have, err := b.listSubscriptions(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	deleted := 0
	for _, s := range have {
		if s.Condition["broadcaster_user_id"] != id && s.Condition["to_broadcaster_user_id"] != id {
			continue
		}
		if err := b.helix.call(ctx, http.MethodDelete, "/eventsub/subscriptions", url.Values{"id": {s.ID}}, nil, "", nil); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted++
	}
	b.log.InfoContext(ctx, "deleted the EventSub subscriptions of an unlinked channel", "channel", channel, "deleted", deleted)
	return errors.Join(errs...)
}

// sameSubscription reports whether s is the subscription want, comparing the
// fields Waddle sets: Twitch lists every condition key of the type, the
// ones Waddle leaves out as "" (a raid subscription has an empty
// from_broadcaster_user_id), so those must be empty rather than absent.
func sameSubscription(s existingSub, want subscription) bool {
	if s.Type != want.Type || s.Version != want.Version {
		return false
	}
	for k, v := range want.Condition {
		if s.Condition[k] != v {
			return false
		}
	}
	for k, v := range s.Condition {
		if _, set := want.Condition[k]; !set && v != "" {
			return false // narrower than ours, such as raids from one channel only
		}
	}
	return true
}

// healthySubscription reports whether Twitch will deliver s's events to
// callback: it is enabled (or being verified) and points at it.
func healthySubscription(s existingSub, callback string) bool {
	return (s.Status == "enabled" || s.Status == "webhook_callback_verification_pending") &&
		s.Transport.Method == "webhook" && s.Transport.Callback == callback
}

// subscribe creates channel's missing EventSub subscriptions, and deletes and
// creates again those that failed or point at another callback (an old
// BASE_URL). A 409 from Twitch means the subscription exists.
func (b *Bot) subscribe(ctx context.Context, channel string) error {
	id, err := b.broadcasterID(ctx, channel)
	if err != nil {
		return err
	}
	have, err := b.listSubscriptions(ctx, id)
	if err != nil {
		return err
	}
	botID, why := b.chatEligible(ctx, channel, id)
	wanted := wantedSubscriptions(id)
	var chat subscription
	if botID != "" {
		chat = chatSubscription(id, botID)
		wanted = append(wanted, chat)
	}
	var errs []error
	created, chatOK := 0, false
	for _, s := range have {
		// Chat read over IRC, or by another bot account: its messages would come twice.
		if s.Type == chatMessageType && s.Condition["broadcaster_user_id"] == id && (botID == "" || !sameSubscription(s, chat)) {
			if err := b.helix.call(ctx, http.MethodDelete, "/eventsub/subscriptions", url.Values{"id": {s.ID}}, nil, "", nil); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, want := range wanted {
		isChat := want.Type == chatMessageType
		ok := false
		for _, s := range have {
			if !sameSubscription(s, want) {
				continue
			}
			if healthySubscription(s, b.cfg.CallbackURL) {
				ok = true
				continue
			}
			if err := b.helix.call(ctx, http.MethodDelete, "/eventsub/subscriptions", url.Values{"id": {s.ID}}, nil, "", nil); err != nil {
				errs = append(errs, err)
			} else {
				b.log.InfoContext(ctx, "deleted a failed or stale EventSub subscription", "channel", channel, "type", s.Type,
					"status", s.Status, "callback", s.Transport.Callback)
			}
		}
		if ok {
			chatOK = chatOK || isChat
			continue
		}
		body := map[string]any{"type": want.Type, "version": want.Version, "condition": want.Condition,
			"transport": map[string]string{"method": "webhook", "callback": b.cfg.CallbackURL, "secret": b.cfg.EventSubSecret}}
		err := b.helix.call(ctx, http.MethodPost, "/eventsub/subscriptions", nil, body, "", nil)
		var he *HelixError
		switch {
		case errors.As(err, &he) && he.Status == http.StatusConflict:
			b.log.InfoContext(ctx, "the EventSub subscription already exists", "channel", channel, "type", want.Type)
			chatOK = chatOK || isChat
		case err != nil && isChat:
			why = "Twitch refused the chat subscription: " + err.Error()
			errs = append(errs, err)
		case err != nil:
			errs = append(errs, err)
		default:
			created++
			chatOK = chatOK || isChat
		}
	}
	if chatOK {
		b.setTransport(ctx, channel, TransportEventSub, "")
	} else {
		b.setTransport(ctx, channel, TransportIRC, why)
	}
	if created > 0 {
		b.log.InfoContext(ctx, "created EventSub subscriptions", "channel", channel, "created", created)
	}
	return errors.Join(errs...)
}
