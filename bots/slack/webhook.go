package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// ErrSignature answers a request Slack did not sign with our signing
// secret, or signed more than five minutes from now.
var ErrSignature = problem.New(problem.Unauthorized,
	"The request is not signed by Slack: X-Slack-Signature does not match or X-Slack-Request-Timestamp is missing or more than 5 minutes off.")

// ReceiverConfig is what the Slack receiver needs.
type ReceiverConfig struct {
	Deliveries    *platform.Deliveries // commits each request with its processing job
	SigningSecret string               // SLACK_SIGNING_SECRET
	Prompts       *Prompts             // where deliveries with a trigger id go at once; nil: to their jobs only
	Logger        *slog.Logger
}

// Receiver accepts Slack's signed HTTP requests: Events API events,
// slash commands and interactions.
type Receiver struct {
	inbox  *Inbox
	secret string
	logger *slog.Logger
}

// NewSlackReceiver returns a receiver, or nil when cfg.SigningSecret is
// empty: without the secret no request can be trusted, so Slack is off.
func NewReceiver(cfg ReceiverConfig) *Receiver {
	if cfg.SigningSecret == "" {
		return nil
	}
	return &Receiver{inbox: NewInbox(cfg.Deliveries, cfg.Logger).WithPrompts(cfg.Prompts), secret: cfg.SigningSecret, logger: cfg.Logger}
}

// Receive checks a request's signature, then answers url_verification with
// its challenge, or commits an event_callback together with the job that
// processes it. A redelivery of a stored event_id is acknowledged and ignored,
// even while the first delivery's transaction is still open: the unique insert
// waits for it.
func (s *Receiver) Receive(ctx context.Context, header http.Header, body []byte) (platform.Ack, error) {
	if err := s.verify(header, body); err != nil {
		s.logger.WarnContext(ctx, "slack request rejected", "err", err)
		return platform.Ack{}, ErrSignature
	}
	ack, err := s.inbox.Event(ctx, body)
	if err == nil && ack.Duplicate {
		s.logger.InfoContext(ctx, "slack event redelivered", "retry", header.Get("X-Slack-Retry-Num"),
			"retry_reason", header.Get("X-Slack-Retry-Reason"))
	}
	return ack, err
}

// verify checks the v0 signature over "v0:" + timestamp + ":" + body with the
// signing secret. slack-go compares with hmac.Equal (constant time) and
// rejects timestamps more than five minutes from now in either direction.
func (s *Receiver) verify(header http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(header, s.secret)
	if err != nil {
		return fmt.Errorf("verify slack signature: %w", err)
	}
	if _, err := sv.Write(body); err != nil {
		return fmt.Errorf("verify slack signature: %w", err)
	}
	if err := sv.Ensure(); err != nil {
		return fmt.Errorf("verify slack signature: %w", err)
	}
	return nil
}

// DeliveryArgs is the job that processes one stored Slack delivery.
type DeliveryArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job.
func (DeliveryArgs) Kind() string { return "platform.slack_delivery" }

// InsertOpts retries for about a day with River's backoff; Slack itself
// stopped caring once it was answered.
func (DeliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// Responder is what the delivery worker needs from the Slack bot: who a
// user is, and how to send the router's responses back. *Bot implements it.
type Responder interface {
	// User looks a user's names and badges up (users.info).
	User(ctx context.Context, team, user string) (router.User, error)
	// CachedUser returns a user User looked up recently, without asking Slack.
	CachedUser(team, user string) (router.User, bool)
	// Respond delivers the router's responses to Slack. An error makes
	// River retry the job, and the router answers the retry with its first result.
	Respond(ctx context.Context, from Origin, res router.Result) error
}

// Worker runs DeliveryArgs jobs: it loads the delivery (an Events API
// event, a slash command or an interaction), maps it to a router event,
// hands it to the router and gives the responses to the bot.
//
// Before routing, the bot fills in the user's names and badges; a
// delivery with a trigger id (a slash command, a click, a submitted modal)
// is held up by the lookup for at most slackTriggerLookup, since a modal it
// answers with must open within the trigger's 3 seconds. A user neither
// cached nor found in time is routed with the payload's name and no badges,
// and looked up after responding, for next time.
type Worker struct {
	river.WorkerDefaults[DeliveryArgs]
	deliveries *platform.Deliveries
	router     *router.Router
	bot        Responder // nil: no Slack bot; responses are dropped with a log line
	logger     *slog.Logger
}

// NewWorker returns the worker of stored Slack deliveries; bot may be nil
// when no Slack bot runs here.
func NewWorker(deliveries *platform.Deliveries, rt *router.Router, bot Responder, logger *slog.Logger) *Worker {
	return &Worker{deliveries: deliveries, router: rt, bot: bot, logger: logger}
}

// Timeout bounds one attempt.
func (w *Worker) Timeout(*river.Job[DeliveryArgs]) time.Duration { return 30 * time.Second }

// Work processes the delivery once. A server no community has linked, or an
// event that cannot become a router event, marks it processed with the reason
// and is not retried; any other error is, by River.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	d, err := w.deliveries.Get(ctx, job.Args.DeliveryID)
	if errors.Is(err, platform.ErrDeliveryGone) {
		return river.JobCancel(fmt.Errorf("slack: %w", err))
	}
	if err != nil {
		return fmt.Errorf("load slack delivery: %w", err)
	}
	if d.Processed {
		return nil // an earlier attempt finished after all
	}
	done := func(reason string) error {
		// The responses may have used up the attempt's time: a failure here
		// would make River send them all again.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		defer cancel()
		if err := w.deliveries.MarkProcessed(mctx, d, reason); err != nil {
			return fmt.Errorf("slack: %w", err)
		}
		return nil
	}
	from, ok, err := slackOrigin(d.Kind, d.Payload)
	if err != nil {
		w.logger.WarnContext(ctx, "slack delivery cannot become a router event", "delivery", d.ID, "kind", d.Kind, "err", err)
		return done(err.Error())
	}
	if !ok {
		return done("")
	}
	from.At = d.ReceivedAt
	ev, lookUpLater := w.withUser(ctx, from)
	from.Event = ev
	res, err := w.router.Handle(ctx, ev, router.Options{Dedup: true})
	if errors.Is(err, router.ErrNotLinked) {
		w.logger.InfoContext(ctx, "slack event from a workspace no community has linked", "team", ev.Server, "delivery", d.ID)
		return done(err.Error())
	}
	if p := problem.As(err); p != nil && p.Code == problem.Invalid {
		return done(err.Error())
	}
	if err != nil {
		return fmt.Errorf("route slack event %s: %w", ev.ID, err)
	}
	if len(res.Responses) > 0 {
		if w.bot == nil {
			w.logger.InfoContext(ctx, "no slack bot configured to send the router's responses", "event", ev.ID, "responses", len(res.Responses))
		} else if err := w.bot.Respond(ctx, from, res); err != nil {
			return fmt.Errorf("respond to slack event %s: %w", ev.ID, err)
		}
	}
	if lookUpLater && ctx.Err() == nil {
		if _, err := w.bot.User(ctx, ev.Server, ev.User.ID); err != nil {
			w.logger.InfoContext(ctx, "slack user not looked up", "user", ev.User.ID, "err", err)
		}
	}
	return done("")
}

// withUser is from's event with its user's names and badges looked up, as
// Worker says; lookUpLater is true when the lookup gave way to the trigger.
func (w *Worker) withUser(ctx context.Context, from Origin) (ev router.Event, lookUpLater bool) {
	ev = from.Event
	switch {
	case w.bot == nil:
	case from.TriggerID != "":
		if u, ok := w.bot.CachedUser(ev.Server, ev.User.ID); ok {
			ev.User = withSlackUser(ev.User, u)
			break
		}
		// Not cached: a quick lookup keeps the badges right (a moderator's
		// command is not refused); a slow one gives way to the trigger.
		uctx, cancel := context.WithTimeout(ctx, slackTriggerLookup)
		u, err := w.bot.User(uctx, ev.Server, ev.User.ID)
		cancel()
		if err == nil {
			ev.User = withSlackUser(ev.User, u)
		} else {
			lookUpLater = true
		}
	default:
		if u, err := w.bot.User(ctx, ev.Server, ev.User.ID); err != nil {
			w.logger.InfoContext(ctx, "slack user not looked up; routing with the user id as name", "user", ev.User.ID, "err", err)
		} else {
			ev.User = withSlackUser(ev.User, u)
		}
	}
	return ev, lookUpLater
}

// markTimeout bounds marking a delivery processed.
const markTimeout = 5 * time.Second

// slackTriggerLookup bounds the users.info lookup of an uncached user before
// a delivery with a trigger id is routed: the trigger lasts 3 seconds.
const slackTriggerLookup = 700 * time.Millisecond

// withSlackUser is u's looked-up names and badges on the event's user.
func withSlackUser(eu, u router.User) router.User {
	eu.Roles = u.Roles
	if u.Name != "" {
		eu.Name = runes.Truncate(u.Name, 100, "")
	}
	if u.DisplayName != "" {
		eu.DisplayName = runes.Truncate(u.DisplayName, 100, "")
	}
	return eu
}

// RouterEvent maps an Events API envelope (as the Events API or Socket
// Mode delivers it) to a router event. ok is false for events Waddle does not
// act on: message subtypes (edits, deletions, joins, bot messages), messages
// from bots, the app's own activity, and event types it does not map.
func RouterEvent(payload []byte) (ev router.Event, ok bool, err error) {
	outer, err := slackevents.ParseEvent(json.RawMessage(payload), slackevents.OptionNoVerifyToken())
	if err != nil {
		return router.Event{}, false, fmt.Errorf("parse slack event: %w", err)
	}
	cb, isCallback := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if outer.Type != slackevents.CallbackEvent || !isCallback {
		return router.Event{}, false, fmt.Errorf("parse slack event: %q is not an event_callback", outer.Type)
	}
	ev = router.Event{ID: "slack:" + cb.EventID, Platform: router.Slack, Server: cb.TeamID, Time: time.Unix(int64(cb.EventTime), 0)}
	if cb.EventTime == 0 {
		ev.Time = time.Now()
	}
	data := map[string]any{}
	switch e := outer.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		if e.SubType != "" || e.BotID != "" {
			return router.Event{}, false, nil
		}
		ev.Kind, ev.Channel, ev.User.ID, ev.Text = router.ChatMessage, e.Channel, e.User, e.Text
		data["ts"] = e.TimeStamp
		if e.ThreadTimeStamp != "" {
			data["thread_ts"] = e.ThreadTimeStamp
		}
		if e.ChannelType != "" {
			data["channel_type"] = e.ChannelType
		}
	case *slackevents.AppMentionEvent:
		if e.BotID != "" {
			return router.Event{}, false, nil
		}
		ev.Kind, ev.Channel, ev.User.ID, ev.Text = router.AppMention, e.Channel, e.User, e.Text
		data["ts"] = e.TimeStamp
		if e.ThreadTimeStamp != "" {
			data["thread_ts"] = e.ThreadTimeStamp
		}
	case *slackevents.ReactionAddedEvent:
		ev.Kind, ev.Channel, ev.User.ID = router.Reaction, e.Item.Channel, e.User
		data["reaction"] = e.Reaction
		data["ts"] = e.Item.Timestamp
		if e.ItemUser != "" {
			data["item_user"] = e.ItemUser
		}
	case *slackevents.MemberJoinedChannelEvent:
		ev.Kind, ev.Channel, ev.User.ID = router.MemberJoin, e.Channel, e.User
	case *slackevents.TeamJoinEvent:
		if e.User == nil || e.User.IsBot {
			return router.Event{}, false, nil
		}
		ev.Kind, ev.User.ID, ev.User.Name, ev.User.DisplayName = router.MemberJoin, e.User.ID, e.User.Name, e.User.Profile.DisplayName
	case *slackevents.FileSharedEvent:
		ev.Kind, ev.Channel, ev.User.ID = router.FileShare, e.ChannelID, e.UserID
		data["file_id"] = e.FileID
	default:
		return router.Event{}, false, nil
	}
	if ev.User.ID == "" || slackIsSelf(cb, ev.User.ID) {
		return router.Event{}, false, nil
	}
	if ev.User.Name == "" {
		ev.User.Name = ev.User.ID
	}
	ev.Text = runes.Truncate(ev.Text, router.MaxTextLen, "")
	if len(data) > 0 {
		ev.Data = data
	}
	if err := ev.Validate(); err != nil {
		return router.Event{}, false, fmt.Errorf("slack event %s: %w", cb.EventID, err)
	}
	return ev, true, nil
}

// slackIsSelf reports whether user is the app's own bot user in the
// workspace the event was delivered for.
func slackIsSelf(cb *slackevents.EventsAPICallbackEvent, user string) bool {
	for _, a := range cb.Authorizations {
		if a.IsBot && a.UserID == user {
			return true
		}
	}
	return false
}
