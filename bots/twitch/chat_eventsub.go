package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Chat transports (TWITCH_CHAT_TRANSPORT).
const (
	// TransportEventSub reads chat through EventSub channel.chat.message
	// and sends through Helix POST /chat/messages: Twitch's recommended way.
	TransportEventSub = "eventsub"
	// TransportIRC reads and sends chat over IRC (go-twitch-irc).
	TransportIRC = "irc"
)

// chatMessageType is the EventSub subscription type of chat messages.
const chatMessageType = "channel.chat.message"

// Scopes the EventSub chat transport needs: the bot account grants
// user:read:chat (to read), user:write:chat (to send) and user:bot (to
// appear as a bot, with the app token); the broadcaster grants channel:bot,
// unless the broadcaster is the bot account itself.
const (
	scopeReadChat   = "user:read:chat"
	scopeWriteChat  = "user:write:chat"
	scopeUserBot    = "user:bot"
	scopeChannelBot = "channel:bot"
)

// ParseChatTransport checks TWITCH_CHAT_TRANSPORT: "" (EventSub where it is
// possible, IRC elsewhere), "eventsub" (the same, said explicitly) or "irc"
// (IRC everywhere).
func ParseChatTransport(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", TransportEventSub:
		return TransportEventSub, nil
	case TransportIRC:
		return TransportIRC, nil
	}
	return "", fmt.Errorf("TWITCH_CHAT_TRANSPORT %q: want eventsub or irc", s)
}

// chatSubscription is the channel.chat.message subscription that reads
// broadcaster id's chat as the bot account botID.
func chatSubscription(id, botID string) subscription {
	return subscription{Type: chatMessageType, Version: "1", Condition: map[string]string{"broadcaster_user_id": id, "user_id": botID}}
}

// chatEligible reports whether channel's chat can go over EventSub, and
// when not, why (for the log and the health page). It needs EventSub
// subscriptions (a webhook secret and callback, or the WebSocket
// transport), TWITCH_CHAT_TRANSPORT not irc, the bot account's token with
// user:read:chat, user:write:chat and user:bot, and the broadcaster's grant with channel:bot
// (not needed when the bot account is the broadcaster).
func (b *Bot) chatEligible(ctx context.Context, channel, casterID string) (botID, why string) {
	if b.cfg.ChatTransport == TransportIRC {
		return "", "TWITCH_CHAT_TRANSPORT=irc"
	}
	if b.cfg.Transport != TransportWebSocket && (b.cfg.EventSubSecret == "" || b.cfg.CallbackURL == "") {
		return "", "EventSub is off"
	}
	bot, err := b.helix.userToken(ctx, platform.BotSubject)
	if err != nil || bot.AccountID == "" {
		return "", "the bot account is not connected"
	}
	for _, s := range []string{scopeReadChat, scopeWriteChat, scopeUserBot} {
		if !slices.Contains(bot.Scopes, s) {
			return "", "the bot account has not granted " + s + ": connect it again on the health page"
		}
	}
	if bot.AccountID == casterID {
		return bot.AccountID, ""
	}
	caster, err := b.cfg.Tokens.Get(ctx, Platform, channel)
	if err != nil {
		return "", "the broadcaster has not granted channel:bot: link the channel again"
	}
	if !slices.Contains(caster.Scopes, scopeChannelBot) {
		return "", "the broadcaster has not granted channel:bot: link the channel again"
	}
	return bot.AccountID, ""
}

// setTransport records how channel's chat goes (and, for IRC, why not
// EventSub), and joins or leaves it on IRC accordingly.
func (b *Bot) setTransport(ctx context.Context, channel, via, why string) {
	b.mu.Lock()
	if !b.holdSet[channel] {
		b.mu.Unlock()
		return
	}
	old := b.transportOf(channel)
	if via == TransportEventSub {
		b.viaEventSub[channel] = true
		delete(b.ircWhy, channel)
	} else {
		delete(b.viaEventSub, channel)
		b.ircWhy[channel] = why
	}
	if old != via && b.up && b.client != nil {
		b.reconcileLocked()
	}
	b.mu.Unlock()
	if old != via {
		b.log.InfoContext(ctx, "chat transport chosen", "channel", channel, "transport", via, "why", why)
		b.setStatus()
	}
}

// transportOf is the transport of a held channel's chat. b.mu is held.
func (b *Bot) transportOf(channel string) string {
	if b.viaEventSub[channel] {
		return TransportEventSub
	}
	return TransportIRC
}

// chatChannels reports the transport of each channel this instance
// serves, for the health page. b.mu is held.
func (b *Bot) chatChannelsLocked() []platform.ChannelStatus {
	out := make([]platform.ChannelStatus, 0, len(b.held))
	for _, ch := range b.held {
		c := platform.ChannelStatus{Name: ch, Transport: "IRC"}
		if b.viaEventSub[ch] {
			c.Transport = "EventSub + Helix"
		} else if why := b.ircWhy[ch]; why != "" {
			c.Note = "not EventSub: " + why
		}
		out = append(out, c)
	}
	return out
}

// chatEvent is the event of a channel.chat.message notification, the
// fields Waddle reads.
type chatEvent struct {
	BroadcasterUserID    string `json:"broadcaster_user_id"`
	BroadcasterUserLogin string `json:"broadcaster_user_login"`
	ChatterUserID        string `json:"chatter_user_id"`
	ChatterUserLogin     string `json:"chatter_user_login"`
	ChatterUserName      string `json:"chatter_user_name"`
	MessageID            string `json:"message_id"`
	Message              struct {
		Text string `json:"text"`
	} `json:"message"`
	Badges []struct {
		SetID string `json:"set_id"`
	} `json:"badges"`
	Cheer *struct {
		Bits int64 `json:"bits"`
	} `json:"cheer"`
	SourceBroadcasterUserID *string `json:"source_broadcaster_user_id"`
}

// badgeRoles maps Twitch badge set ids to router roles, the same on both
// transports.
func badgeRoles(sets []string) []string {
	var roles []string
	add := func(r string) {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	for _, s := range sets {
		switch s {
		case "broadcaster":
			add(router.BadgeBroadcaster)
		case "moderator", "lead_moderator":
			add(router.BadgeModerator)
		case "vip":
			add(router.BadgeVIP)
		case "subscriber", "founder":
			add(router.BadgeSubscriber)
		}
	}
	slices.Sort(roles)
	return roles
}

// chatMessage is a channel.chat.message notification read into a router
// event, with what the bot needs besides.
type chatMessage struct {
	Event router.Event
	Own   bool // sent by the bot account that reads (the subscription's user_id)
	Mod   bool // its author moderates the channel
}

// errSharedChat marks a chat message from another channel of a shared chat
// session: that channel handles it where it is linked.
var errSharedChat = problem.New(problem.Invalid, "The chat message comes from another channel in a shared chat session: that channel handles it.")

// parseChatMessage reads a channel.chat.message notification body
// (subscription and event, the same over webhooks and the WebSocket) into a
// router event with the id "twitch:" + message_id, as IRC messages have, so
// replies and deletes name the same message on both transports.
func parseChatMessage(body []byte, at time.Time) (chatMessage, error) {
	var b eventSubBody
	if err := json.Unmarshal(body, &b); err != nil {
		return chatMessage{}, problem.New(problem.Invalid, "The EventSub notification is not valid JSON.")
	}
	if b.Subscription.Type != chatMessageType {
		return chatMessage{}, problem.New(problem.Invalid, "Not a chat message: %q.", b.Subscription.Type)
	}
	var e chatEvent
	if err := json.Unmarshal(b.Event, &e); err != nil {
		return chatMessage{}, problem.New(problem.Invalid, "The EventSub chat message is not a valid object.")
	}
	if e.MessageID == "" || !validMsgID(e.MessageID) || e.ChatterUserID == "" || e.BroadcasterUserID == "" {
		return chatMessage{}, problem.New(problem.Invalid, "The EventSub chat message has no usable message id, chatter or broadcaster.")
	}
	login := strings.ToLower(e.BroadcasterUserLogin)
	if !validLogin(login) {
		return chatMessage{}, problem.New(problem.Invalid, "The EventSub chat message names no valid broadcaster login.")
	}
	if s := e.SourceBroadcasterUserID; s != nil && *s != "" && *s != e.BroadcasterUserID {
		return chatMessage{}, errSharedChat
	}
	sets := make([]string, 0, len(e.Badges))
	for _, bg := range e.Badges {
		sets = append(sets, bg.SetID)
	}
	roles := badgeRoles(sets)
	ev := router.Event{
		ID: "twitch:" + e.MessageID, Platform: Platform, Kind: router.ChatMessage, Server: login, Channel: login,
		User: router.User{ID: e.ChatterUserID, Name: strings.ToLower(e.ChatterUserLogin), DisplayName: e.ChatterUserName, Roles: roles},
		Text: e.Message.Text, Time: at,
	}
	if e.Cheer != nil && e.Cheer.Bits > 0 {
		ev.Data = map[string]any{"bits": e.Cheer.Bits}
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if err := ev.Validate(); err != nil {
		return chatMessage{}, fmt.Errorf("eventsub chat message: %w", err)
	}
	reader := b.Subscription.Condition["user_id"]
	return chatMessage{
		Event: ev,
		Own:   reader != "" && e.ChatterUserID == reader,
		Mod:   slices.Contains(roles, router.BadgeModerator) || slices.Contains(roles, router.BadgeBroadcaster),
	}, nil
}

// ChatResponder carries the router's answer to a chat message read over
// EventSub back to Twitch chat. The Twitch bot implements it.
type ChatResponder interface {
	// RespondChat queues res's responses to ev: replies in ev's thread
	// through Helix, moderation through Helix.
	RespondChat(ctx context.Context, ev router.Event, res router.Result)
	// OwnChatMessage records the bot's own chat message seen in channel,
	// and whether its badges make it a moderator there.
	OwnChatMessage(channel string, mod bool)
}

// HandleNotification is the one entry for EventSub notifications, whatever
// carried them (a webhook delivery, the WebSocket): body is the
// notification's {"subscription", "event"} object and messageID its
// message id. It runs the event through the router with Dedup, so a
// redelivered message is handled once; a chat message's responses go back
// through chat. A notification it cannot use is a problem.Invalid error,
// and one for a channel no community linked is router.ErrNotLinked: neither
// is worth a retry. Any other error is.
func (w *EventSubWorker) HandleNotification(ctx context.Context, messageID string, body []byte, at time.Time) error {
	var head struct {
		Subscription struct {
			Type string `json:"type"`
		} `json:"subscription"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return problem.New(problem.Invalid, "The EventSub notification is not valid JSON.")
	}
	if head.Subscription.Type != chatMessageType {
		ev, err := EventSubEvent(messageID, body, at)
		if err != nil {
			return err
		}
		_, err = w.Router.Handle(ctx, ev, router.Options{Dedup: true})
		return err
	}
	m, err := parseChatMessage(body, at)
	if err != nil {
		return err
	}
	if m.Own {
		if w.Chat != nil {
			w.Chat.OwnChatMessage(m.Event.Channel, m.Mod)
		}
		return nil
	}
	res, err := w.Router.Handle(ctx, m.Event, router.Options{Dedup: true})
	if err != nil {
		return err
	}
	if res.Duplicate {
		return nil // answered when first handled
	}
	if w.Chat == nil {
		if len(res.Responses) > 0 {
			w.Logger.WarnContext(ctx, "chat responses dropped: the Twitch bot is off on this instance", "event", m.Event.ID)
		}
		return nil
	}
	w.Chat.RespondChat(ctx, m.Event, res)
	return nil
}

// RespondChat implements ChatResponder.
func (b *Bot) RespondChat(ctx context.Context, ev router.Event, res router.Result) {
	prio := platform.Low
	if strings.HasPrefix(res.HandledBy, "command") {
		prio = platform.High
	}
	for _, r := range res.Responses {
		b.respond(ctx, ev, r, prio, TransportEventSub)
	}
}

// OwnChatMessage implements ChatResponder: the badges of the bot's own
// messages say whether it moderates the channel, which sets its chat budget
// and whether it moderates with its own token.
func (b *Bot) OwnChatMessage(channel string, mod bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.holdSet[channel] {
		return
	}
	b.modIn[channel] = mod
	if mod {
		delete(b.modNo, channel)
	} else {
		b.modNo[channel] = true
	}
}

// maxDropReason bounds the drop reason logged from Twitch's answer.
const maxDropReason = 200

// ErrChatDropped is a chat message Twitch accepted but did not send
// (is_sent false): its drop reason says why, such as AutoMod or a
// followers-only chat. It is not retried.
var ErrChatDropped = errors.New("twitch dropped the chat message")

// sendHelixChat sends text to channel through Helix as the bot account,
// threaded under parent when set. It uses the app token: with the bot's
// user:bot and the broadcaster's channel:bot grants, Twitch shows the
// message with its chat-bot badge.
func (b *Bot) sendHelixChat(ctx context.Context, channel, text, parent string) error {
	bot, err := b.helix.userToken(ctx, platform.BotSubject)
	if err != nil || bot.AccountID == "" {
		b.noteAnonymous(ctx)
		return errNoBotAccount
	}
	casterID, err := b.broadcasterID(ctx, channel)
	if err != nil {
		return err
	}
	body := map[string]string{"broadcaster_id": casterID, "sender_id": bot.AccountID, "message": text}
	if parent != "" {
		body["reply_parent_message_id"] = parent
	}
	var out struct {
		Data []struct {
			MessageID  string `json:"message_id"`
			IsSent     bool   `json:"is_sent"`
			DropReason *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"drop_reason"`
		} `json:"data"`
	}
	if err := b.helix.call(ctx, http.MethodPost, "/chat/messages", nil, body, "", &out); err != nil {
		return fmt.Errorf("send chat in %s: %w", channel, err)
	}
	if len(out.Data) == 0 {
		return fmt.Errorf("send chat in %s: twitch answered without data", channel)
	}
	if d := out.Data[0]; !d.IsSent {
		code, msg := "", ""
		if d.DropReason != nil {
			code, msg = d.DropReason.Code, d.DropReason.Message
		}
		msg = runes.Truncate(msg, maxDropReason, "…")
		return fmt.Errorf("%w in %s: %s (%s)", ErrChatDropped, channel, msg, code)
	}
	return nil
}
