package twitch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Twitch EventSub webhook headers.
const (
	HeaderEventSubID        = "Twitch-Eventsub-Message-Id"
	HeaderEventSubTimestamp = "Twitch-Eventsub-Message-Timestamp"
	HeaderEventSubSignature = "Twitch-Eventsub-Message-Signature"
	HeaderEventSubType      = "Twitch-Eventsub-Message-Type"
	HeaderEventSubSubType   = "Twitch-Eventsub-Subscription-Type"
)

// EventSub message types (the Twitch-Eventsub-Message-Type header).
const (
	EventSubNotification = "notification"
	EventSubChallenge    = "webhook_callback_verification"
	EventSubRevocation   = "revocation"
)

// Limits on EventSub requests.
const (
	EventSubMaxAge    = 10 * time.Minute // older messages may be replays
	EventSubMaxFuture = time.Minute      // clock skew allowed the other way
	maxChallengeLen   = 1000
)

// ErrEventSubSignature answers a request whose signature is missing or wrong.
var ErrEventSubSignature = problem.New(problem.Forbidden, "The EventSub message signature is missing or does not match.")

// ErrEventSubStale answers a request whose timestamp is too old (a replay) or in the future.
var ErrEventSubStale = problem.New(problem.Forbidden, "The EventSub message timestamp is more than 10 minutes old or in the future.")

// EventSubMessage is one EventSub request whose signature and age were checked.
type EventSubMessage struct {
	ID        string
	Timestamp time.Time
	Type      string // notification, webhook_callback_verification or revocation
	SubType   string // the subscription type header, such as channel.follow
	Body      []byte // the raw body the signature covers
}

// VerifyEventSub checks an EventSub request: the HMAC-SHA256 signature over
// message id, timestamp and raw body with secret, compared in constant time,
// and a timestamp no older than EventSubMaxAge. It checks every message type,
// challenges included, before anything reads the body.
func VerifyEventSub(secret string, h http.Header, body []byte, now time.Time) (EventSubMessage, error) {
	id, ts, sig := h.Get(HeaderEventSubID), h.Get(HeaderEventSubTimestamp), h.Get(HeaderEventSubSignature)
	if id == "" || ts == "" || sig == "" || secret == "" {
		return EventSubMessage{}, ErrEventSubSignature
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return EventSubMessage{}, ErrEventSubSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id))
	mac.Write([]byte(ts))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return EventSubMessage{}, ErrEventSubSignature
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return EventSubMessage{}, problem.New(problem.Forbidden, "The EventSub message timestamp is not an RFC 3339 time.")
	}
	if now.Sub(at) > EventSubMaxAge || at.Sub(now) > EventSubMaxFuture {
		return EventSubMessage{}, ErrEventSubStale
	}
	if len(id) > platform.MaxMessageIDLen {
		return EventSubMessage{}, problem.New(problem.Invalid, "The EventSub message id is longer than %d characters.", platform.MaxMessageIDLen)
	}
	m := EventSubMessage{ID: id, Timestamp: at, Type: h.Get(HeaderEventSubType), SubType: h.Get(HeaderEventSubSubType), Body: body}
	switch m.Type {
	case EventSubNotification, EventSubChallenge, EventSubRevocation:
	default:
		return EventSubMessage{}, problem.New(problem.Invalid, "Unknown EventSub message type %q.", m.Type)
	}
	return m, nil
}

// EventSubChallengeAnswer is the challenge a webhook_callback_verification
// message carries, to be echoed back as the bare body.
func EventSubChallengeAnswer(m EventSubMessage) (string, error) {
	var body struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(m.Body, &body); err != nil {
		return "", problem.New(problem.Invalid, "The verification request is not valid JSON.")
	}
	if body.Challenge == "" || len(body.Challenge) > maxChallengeLen {
		return "", problem.New(problem.Invalid, "The verification request has no usable challenge.")
	}
	return body.Challenge, nil
}

// EventSub receives Twitch EventSub messages: over webhooks it checks each
// request's signature and answers verification challenges; over either
// transport it stores notifications and revocation notices (Dispatch).
type EventSub struct {
	deliveries *platform.Deliveries
	logger     *slog.Logger
}

// NewEventSub returns the EventSub receiver over the delivery store.
func NewEventSub(deliveries *platform.Deliveries, logger *slog.Logger) *EventSub {
	return &EventSub{deliveries: deliveries, logger: logger}
}

// Receive checks a request against secret (TWITCH_EVENTSUB_SECRET), then
// answers a verification request with its challenge, records a revocation,
// or commits a notification together with the job that processes it.
func (s *EventSub) Receive(ctx context.Context, secret string, h http.Header, body []byte) (platform.Ack, error) {
	m, err := VerifyEventSub(secret, h, body, time.Now())
	if err != nil {
		return platform.Ack{}, err
	}
	switch m.Type {
	case EventSubChallenge:
		challenge, err := EventSubChallengeAnswer(m)
		if err != nil {
			return platform.Ack{}, err
		}
		s.logger.InfoContext(ctx, "eventsub subscription verified", "type", m.SubType)
		return platform.Ack{Challenge: challenge}, nil
	default: // a notification or a revocation; VerifyEventSub refuses other types
		return s.Dispatch(ctx, m)
	}
}

// Dispatch takes a notification or revocation that arrived over either
// transport (a webhook request whose signature was checked, or a message on
// the EventSub WebSocket): a notification is committed with the job that
// handles it, once per message id; a revocation is recorded. Once it
// returns nil the message may be acknowledged or read past: the job runs
// even if this process dies right after.
func (s *EventSub) Dispatch(ctx context.Context, m EventSubMessage) (platform.Ack, error) {
	if m.ID == "" || len(m.ID) > platform.MaxMessageIDLen {
		return platform.Ack{}, problem.New(problem.Invalid, "The EventSub message id is empty or longer than %d characters.", platform.MaxMessageIDLen)
	}
	switch m.Type {
	case EventSubNotification:
		stored, err := s.Store(ctx, m)
		return platform.Ack{Duplicate: !stored}, err
	case EventSubRevocation:
		return platform.Ack{}, s.Revoked(ctx, m)
	}
	return platform.Ack{}, problem.New(problem.Invalid, "Unknown EventSub message type %q.", m.Type)
}

// eventSubSubscription is the subscription part of every EventSub body.
type eventSubSubscription struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Status    string            `json:"status"`
	Condition map[string]string `json:"condition"`
}

// eventSubBody is a notification or revocation body.
type eventSubBody struct {
	Subscription eventSubSubscription `json:"subscription"`
	Event        json.RawMessage      `json:"event"`
}

// Store commits a notification and the job that processes it in one
// transaction. It reports false for a redelivery of a message id already
// stored, which stores and queues nothing. Once it returns nil the delivery may
// be acknowledged: the job runs even if this process dies right after.
func (s *EventSub) Store(ctx context.Context, m EventSubMessage) (bool, error) {
	id, err := s.store(ctx, m, 0)
	return id != 0, err
}

// store is Store, returning the delivery's id (0 for a redelivery); a hold
// above 0 schedules its job that much later, for a caller that handles the
// delivery itself meanwhile (the job then finds it processed).
func (s *EventSub) store(ctx context.Context, m EventSubMessage, hold time.Duration) (int64, error) {
	if m.Type != EventSubNotification {
		return 0, problem.New(problem.Invalid, "Only notifications are stored, not %q messages.", m.Type)
	}
	var b eventSubBody
	if err := json.Unmarshal(m.Body, &b); err != nil {
		return 0, problem.New(problem.Invalid, "The EventSub notification is not valid JSON.")
	}
	if _, ok := eventSubKinds[b.Subscription.Type]; !ok && b.Subscription.Type != chatMessageType {
		return 0, problem.New(problem.Invalid, "Unknown EventSub subscription type %q.", b.Subscription.Type)
	}
	if m.SubType != "" && m.SubType != b.Subscription.Type {
		return 0, problem.New(problem.Invalid, "The subscription type header %q does not match the body's %q.", m.SubType, b.Subscription.Type)
	}
	if len(b.Event) == 0 || b.Event[0] != '{' {
		return 0, problem.New(problem.Invalid, "The EventSub notification has no event object.")
	}
	id, err := s.deliveries.Store(ctx, router.Twitch, m.ID, b.Subscription.Type, m.Body, func(id int64) river.JobArgs {
		a := EventSubArgs{DeliveryID: id}
		if hold > 0 {
			a.runAt = time.Now().Add(hold)
		}
		return a
	})
	if err != nil {
		return 0, fmt.Errorf("store eventsub message %q: %w", m.ID, err)
	}
	if id == 0 {
		s.logger.InfoContext(ctx, "eventsub redelivery ignored", "message_id", m.ID, "type", b.Subscription.Type)
	}
	return id, nil
}

// Revoked records a revocation notice, for the hub to show.
func (s *EventSub) Revoked(ctx context.Context, m EventSubMessage) error {
	var b eventSubBody
	if err := json.Unmarshal(m.Body, &b); err != nil {
		return problem.New(problem.Invalid, "The EventSub revocation is not valid JSON.")
	}
	sub := b.Subscription
	if sub.ID == "" || len(sub.ID) > platform.MaxMessageIDLen || len(sub.Type) > 100 || len(sub.Status) > 100 {
		return problem.New(problem.Invalid, "The EventSub revocation has no usable subscription id, type or status.")
	}
	// Conditions name channels by id: the notice shows the channel's login
	// when its broadcaster's grant is stored, else the id.
	server, account := "", ""
	for _, k := range []string{"broadcaster_user_login", "broadcaster_user_id", "to_broadcaster_user_id", "from_broadcaster_user_id"} {
		if v := sub.Condition[k]; v != "" && len(v) <= 100 {
			server = strings.ToLower(v)
			if k != "broadcaster_user_login" {
				account = v
			}
			break
		}
	}
	if err := s.deliveries.Revoked(ctx, platform.Revocation{
		Platform: router.Twitch, Subscription: sub.ID, Kind: sub.Type, Reason: sub.Status, Server: server, Account: account,
	}); err != nil {
		return err
	}
	s.logger.WarnContext(ctx, "twitch revoked an eventsub subscription", "subscription", sub.ID, "type", sub.Type, "reason", sub.Status, "server", server)
	return nil
}

// eventSubKinds maps the subscription types Waddle handles to router kinds.
var eventSubKinds = map[string]router.Kind{
	"channel.follow":            router.Follow,
	"channel.subscribe":         router.Subscribe,
	"channel.subscription.gift": router.GiftSub,
	"channel.cheer":             router.Cheer,
	"channel.raid":              router.Raid,
	"channel.ban":               router.Ban,
	"stream.online":             router.StreamOnline,
	"stream.offline":            router.StreamOffline,
}

// eventSubEvent holds the fields of the event objects Waddle reads.
type eventSubEvent struct {
	UserID               string `json:"user_id"`
	UserLogin            string `json:"user_login"`
	UserName             string `json:"user_name"`
	BroadcasterUserID    string `json:"broadcaster_user_id"`
	BroadcasterUserLogin string `json:"broadcaster_user_login"`
	BroadcasterUserName  string `json:"broadcaster_user_name"`
	FromUserID           string `json:"from_broadcaster_user_id"`
	FromUserLogin        string `json:"from_broadcaster_user_login"`
	FromUserName         string `json:"from_broadcaster_user_name"`
	ToUserLogin          string `json:"to_broadcaster_user_login"`
	ModeratorUserLogin   string `json:"moderator_user_login"`
	Tier                 string `json:"tier"`
	IsGift               bool   `json:"is_gift"`
	IsAnonymous          bool   `json:"is_anonymous"`
	IsPermanent          bool   `json:"is_permanent"`
	Total                int64  `json:"total"`
	Bits                 int64  `json:"bits"`
	Viewers              int64  `json:"viewers"`
	Message              string `json:"message"`
	Reason               string `json:"reason"`
	Type                 string `json:"type"`
}

// anonymous stands for the giver of an anonymous gift or cheer.
var anonymous = router.User{ID: "anonymous", Name: "anonymous", DisplayName: "Anonymous"}

// EventSubEvent turns a notification body into a router event: the server is
// the broadcaster's login (the raided channel for raids), the user who caused
// it comes from user_id, user_login and user_name, and the event id is
// "eventsub:" + the message id. The EventSub WebSocket transport carries the
// same bodies, so the Twitch bot can use it too. A body it cannot use is a
// problem.Invalid error.
func EventSubEvent(messageID string, body []byte, at time.Time) (router.Event, error) {
	var b eventSubBody
	if err := json.Unmarshal(body, &b); err != nil {
		return router.Event{}, problem.New(problem.Invalid, "The EventSub notification is not valid JSON.")
	}
	kind, ok := eventSubKinds[b.Subscription.Type]
	if !ok {
		return router.Event{}, problem.New(problem.Invalid, "Unknown EventSub subscription type %q.", b.Subscription.Type)
	}
	var e eventSubEvent
	if err := json.Unmarshal(b.Event, &e); err != nil {
		return router.Event{}, problem.New(problem.Invalid, "The EventSub %s event is not a valid object.", b.Subscription.Type)
	}
	ev := router.Event{
		ID: "eventsub:" + messageID, Platform: router.Twitch, Kind: kind,
		Server: strings.ToLower(e.BroadcasterUserLogin),
		User:   router.User{ID: e.UserID, Name: e.UserLogin, DisplayName: e.UserName},
		Data:   map[string]any{}, Time: at,
	}
	broadcaster := router.User{ID: e.BroadcasterUserID, Name: e.BroadcasterUserLogin, DisplayName: e.BroadcasterUserName,
		Roles: []string{router.BadgeBroadcaster}}
	switch kind {
	case router.Subscribe:
		ev.Data["tier"], ev.Data["is_gift"] = e.Tier, e.IsGift
	case router.GiftSub:
		ev.Data["count"], ev.Data["tier"] = e.Total, e.Tier
		if e.IsAnonymous || e.UserID == "" {
			ev.User = anonymous
		}
	case router.Cheer:
		ev.Data["bits"], ev.Text = e.Bits, e.Message
		if e.IsAnonymous || e.UserID == "" {
			ev.User = anonymous
		}
	case router.Raid:
		ev.Server = strings.ToLower(e.ToUserLogin)
		ev.User = router.User{ID: e.FromUserID, Name: e.FromUserLogin, DisplayName: e.FromUserName}
		ev.Data["viewers"] = e.Viewers
	case router.Ban:
		ev.Data["reason"], ev.Data["moderator"], ev.Data["permanent"] = e.Reason, e.ModeratorUserLogin, e.IsPermanent
	case router.StreamOnline:
		ev.User = broadcaster
		ev.Data["type"] = e.Type
	case router.StreamOffline:
		ev.User = broadcaster
	}
	if err := ev.Validate(); err != nil {
		return router.Event{}, fmt.Errorf("eventsub %s: %w", b.Subscription.Type, err)
	}
	return ev, nil
}

// EventSubArgs is the job that hands one stored notification to the router.
type EventSubArgs struct {
	DeliveryID int64 `json:"delivery_id"`

	runAt time.Time // set: the job is scheduled then (see EventSub.store)
}

// InsertOpts schedules a held delivery's job.
func (a EventSubArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{ScheduledAt: a.runAt}
}

// Kind names the job.
func (EventSubArgs) Kind() string { return "platform.eventsub" }

// EventSubWorker runs EventSubArgs jobs.
type EventSubWorker struct {
	river.WorkerDefaults[EventSubArgs]
	Deliveries *platform.Deliveries
	Router     *router.Router
	Chat       ChatResponder // the Twitch bot, which answers chat messages; nil: their responses are dropped with a log line
	Logger     *slog.Logger
}

// Timeout bounds one attempt.
func (w *EventSubWorker) Timeout(*river.Job[EventSubArgs]) time.Duration { return time.Minute }

// Work loads the delivery and hands it to HandleNotification. A
// delivery it cannot use, or for a channel no community linked, is marked
// processed with the reason and not retried; any other error makes River retry.
// The router deduplicates by event id, so a retry after the router succeeded
// but before the delivery was marked does not count the event twice.
func (w *EventSubWorker) Work(ctx context.Context, job *river.Job[EventSubArgs]) error {
	return w.process(ctx, job.Args.DeliveryID)
}

// process handles the stored delivery id unless it was processed already.
func (w *EventSubWorker) process(ctx context.Context, deliveryID int64) error {
	d, err := w.Deliveries.Get(ctx, deliveryID)
	if errors.Is(err, platform.ErrDeliveryGone) {
		w.Logger.WarnContext(ctx, "eventsub delivery is gone; nothing to do", "delivery", deliveryID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load eventsub delivery: %w", err)
	}
	if d.Processed {
		return nil
	}
	reason := ""
	err = w.HandleNotification(ctx, d.MessageID, d.Payload, d.ReceivedAt)
	switch {
	case err == nil:
	case errors.Is(err, router.ErrNotLinked) || problem.Is(err, problem.Invalid):
		reason = err.Error()
		w.Logger.InfoContext(ctx, "eventsub delivery not handled", "message_id", d.MessageID, "type", d.Kind, "reason", reason)
	default:
		return fmt.Errorf("handle eventsub %s message %q: %w", d.Kind, d.MessageID, err)
	}
	if err := w.Deliveries.MarkProcessed(ctx, d, reason); err != nil {
		return fmt.Errorf("eventsub: %w", err)
	}
	return nil
}
