package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Kinds of stored Slack deliveries that are not Events API events (those
// are stored under their inner event type).
const (
	KindCommand        = "slash_command"
	KindBlockActions   = "block_actions"
	KindViewSubmission = "view_submission"
)

// Inbox commits Slack deliveries, from HTTP or Socket Mode, together
// with the job that processes each, once per delivery id.
type Inbox struct {
	deliveries *platform.Deliveries
	logger     *slog.Logger
	prompts    *Prompts // nil: deliveries with a trigger id wait for their jobs
}

// NewInbox returns an inbox committing to deliveries.
func NewInbox(deliveries *platform.Deliveries, logger *slog.Logger) *Inbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Inbox{deliveries: deliveries, logger: logger}
}

// WithPrompts makes in hand each delivery with a trigger id to p as soon as
// it is stored, and returns in.
func (in *Inbox) WithPrompts(p *Prompts) *Inbox {
	in.prompts = p
	return in
}

// Event answers an Events API url_verification with its challenge, or
// commits an event_callback (dedup by event_id). A well-formed envelope
// this app cannot parse (a new event or request type) is acknowledged and
// logged, not stored; only a body that is not a JSON envelope is refused.
func (in *Inbox) Event(ctx context.Context, body []byte) (platform.Ack, error) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		// An envelope slack-go cannot parse, such as an event type newer
		// than the library, is acknowledged: Slack retries whatever is not
		// answered 2xx, and turns the app's event subscriptions off when
		// most of an hour's deliveries fail.
		var env struct {
			Type    string `json:"type"`
			TeamID  string `json:"team_id"`
			EventID string `json:"event_id"`
			Event   struct {
				Type string `json:"type"`
			} `json:"event"`
		}
		if json.Unmarshal(body, &env) == nil && env.Type != "" {
			in.logger.WarnContext(ctx, "slack event this app cannot parse: acknowledged and dropped",
				"type", runes.Truncate(env.Type, 100, "…"), "event_type", runes.Truncate(env.Event.Type, 100, "…"),
				"event", runes.Truncate(env.EventID, 100, "…"), "team", runes.Truncate(env.TeamID, 100, "…"), "err", err)
			return platform.Ack{}, nil
		}
		in.logger.WarnContext(ctx, "slack request not understood", "err", err)
		return platform.Ack{}, problem.Invalidf("body", "The body is not an Events API payload this app understands (malformed JSON or an unknown event type).")
	}
	switch ev.Type {
	case slackevents.URLVerification:
		uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok || uv.Challenge == "" {
			return platform.Ack{}, problem.Invalidf("challenge", "The url_verification request has no challenge.")
		}
		return platform.Ack{Challenge: uv.Challenge}, nil
	case slackevents.AppRateLimited:
		in.logger.WarnContext(ctx, "slack reports that it dropped events: the app went over its Events API rate limit", "team", ev.TeamID)
		return platform.Ack{}, nil
	case slackevents.CallbackEvent:
	default:
		in.logger.WarnContext(ctx, "slack request of an unknown type: acknowledged and dropped", "type", runes.Truncate(ev.Type, 100, "…"))
		return platform.Ack{}, nil
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" || len(cb.EventID) > 200 {
		return platform.Ack{}, problem.Invalidf("event_id", "The event_callback has no usable event_id.")
	}
	return in.store(ctx, cb.EventID, ev.InnerEvent.Type, body)
}

// Command commits a slash command (dedup by trigger_id).
func (in *Inbox) Command(ctx context.Context, cmd slack.SlashCommand) (platform.Ack, error) {
	for _, f := range []struct{ name, v string }{{"team_id", cmd.TeamID}, {"user_id", cmd.UserID}, {"command", cmd.Command}, {"trigger_id", cmd.TriggerID}} {
		if f.v == "" || len(f.v) > 190 {
			in.logger.WarnContext(ctx, "slack slash command without "+f.name)
			return platform.Ack{}, problem.Invalidf(f.name, "The slash command has no usable %s.", f.name)
		}
	}
	cmd.Token = "" // the legacy verification token is not needed later (nor stored: see scrub.go)
	payload, err := json.Marshal(cmd)
	if err != nil {
		return platform.Ack{}, fmt.Errorf("encode slack slash command: %w", err)
	}
	return in.store(ctx, "cmd:"+cmd.TriggerID, KindCommand, payload)
}

// Interaction commits a block_actions or view_submission payload (dedup by
// trigger_id).
func (in *Inbox) Interaction(ctx context.Context, payload []byte) (platform.Ack, error) {
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		in.logger.WarnContext(ctx, "slack interaction not understood", "err", err)
		return platform.Ack{}, problem.Invalidf("payload", "The payload is not an interaction this app understands (malformed JSON).")
	}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		if len(ic.ActionCallback.BlockActions) == 0 {
			return platform.Ack{}, problem.Invalidf("actions", "The block_actions payload has no action.")
		}
	case slack.InteractionTypeViewSubmission:
	default:
		in.logger.WarnContext(ctx, "slack interaction of an unknown type", "type", ic.Type)
		return platform.Ack{}, problem.Invalidf("type", "Unknown interaction type %q: want block_actions or view_submission.", ic.Type)
	}
	if ic.Team.ID == "" || ic.User.ID == "" {
		return platform.Ack{}, problem.Invalidf("team", "The interaction names no team or user.")
	}
	if ic.TriggerID == "" || len(ic.TriggerID) > 190 {
		return platform.Ack{}, problem.Invalidf("trigger_id", "The interaction has no usable trigger_id.")
	}
	return in.store(ctx, "int:"+ic.TriggerID, string(ic.Type), payload)
}

// store commits a delivery and its job in one transaction; a message id
// already stored is a duplicate, even while its transaction is still open:
// the unique insert waits for it.
func (in *Inbox) store(ctx context.Context, messageID, kind string, payload []byte) (platform.Ack, error) {
	payload, err := platform.ScrubReceived(payload)
	if err != nil {
		in.logger.WarnContext(ctx, "slack delivery not storable", "id", messageID, "err", err)
		return platform.Ack{}, problem.Invalidf("body", "The payload is not valid JSON.")
	}
	id, err := in.deliveries.Store(ctx, router.Slack, messageID, kind, payload, func(id int64) river.JobArgs {
		return DeliveryArgs{DeliveryID: id}
	})
	if errors.Is(err, platform.ErrNULEscape) {
		in.logger.WarnContext(ctx, "slack delivery not storable", "id", messageID, "err", err)
		return platform.Ack{}, err
	}
	if err != nil {
		return platform.Ack{}, fmt.Errorf("slack: %w", err)
	}
	if id == 0 {
		in.logger.InfoContext(ctx, "slack delivery already stored; acknowledged again", "id", messageID)
		return platform.Ack{Duplicate: true}, nil
	}
	if hasTrigger(kind) && !in.prompts.push(id) && in.prompts != nil {
		in.logger.WarnContext(ctx, "slack prompt lane full: the delivery waits for its job", "id", messageID)
	}
	return platform.Ack{DeliveryID: id}, nil
}

// ReceiveCommand checks a slash command request's signature and commits
// it with its job.
func (s *Receiver) ReceiveCommand(ctx context.Context, header http.Header, body []byte) (platform.Ack, error) {
	if err := s.verify(header, body); err != nil {
		s.logger.WarnContext(ctx, "slack slash command rejected", "err", err)
		return platform.Ack{}, ErrSignature
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.logger.WarnContext(ctx, "slack slash command not understood", "err", err)
		return platform.Ack{}, problem.Invalidf("body", "The body is not a form-encoded slash command.")
	}
	// The fields slack.SlashCommandParse reads, from the verified body.
	cmd := slack.SlashCommand{
		TeamID: form.Get("team_id"), TeamDomain: form.Get("team_domain"),
		EnterpriseID: form.Get("enterprise_id"), EnterpriseName: form.Get("enterprise_name"),
		IsEnterpriseInstall: form.Get("is_enterprise_install") == "true",
		ChannelID:           form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"),
		Command: form.Get("command"), Text: form.Get("text"),
		ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"), APIAppID: form.Get("api_app_id"),
	}
	return s.inbox.Command(ctx, cmd)
}

// ReceiveInteraction checks an interactivity request's signature and
// commits its payload form field with its job.
func (s *Receiver) ReceiveInteraction(ctx context.Context, header http.Header, body []byte) (platform.Ack, error) {
	if err := s.verify(header, body); err != nil {
		s.logger.WarnContext(ctx, "slack interaction rejected", "err", err)
		return platform.Ack{}, ErrSignature
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		s.logger.WarnContext(ctx, "slack interaction without a payload", "err", err)
		return platform.Ack{}, problem.Invalidf("payload", "The body has no payload form field.")
	}
	return s.inbox.Interaction(ctx, []byte(form.Get("payload")))
}

// Origin is a routed Slack event with what its answer needs beyond
// the event: slash commands and message buttons are answered through their
// response URL, and a modal can only open with a fresh trigger id.
type Origin struct {
	Event       router.Event
	ResponseURL string // "": answer through the Web API
	TriggerID   string // valid for 3 seconds after the user acted
	// At is when Slack sent the trigger id and response URL (the
	// delivery's receipt); zero: unknown, taken as now.
	At time.Time
}

// triggerLife is how long after the user acted a trigger id opens a view.
const triggerLife = 3 * time.Second

// slackCommandOrigin maps a stored slash command: "/waddlebot hello world"
// becomes a SlashCommand event with Text "hello world".
func slackCommandOrigin(payload []byte) (Origin, error) {
	var cmd slack.SlashCommand
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return Origin{}, fmt.Errorf("parse slack slash command: %w", err)
	}
	ev := router.Event{ID: "slack:cmd:" + cmd.TriggerID, Platform: router.Slack, Kind: router.SlashCommand,
		Server: cmd.TeamID, Channel: cmd.ChannelID, User: router.User{ID: cmd.UserID, Name: runes.Truncate(cmd.UserName, 100, "")},
		Text: runes.Truncate(strings.TrimSpace(cmd.Text), router.MaxTextLen, ""), Time: time.Now(),
		Data: map[string]any{"command": cmd.Command}}
	if err := ev.Validate(); err != nil {
		return Origin{}, fmt.Errorf("slack slash command: %w", err)
	}
	return Origin{Event: ev, ResponseURL: cmd.ResponseURL, TriggerID: cmd.TriggerID}, nil
}

// slackInteractionOrigin maps a stored interaction: a button's action (its
// value, else its action_id) or a select's action_id and chosen value become
// a ButtonClick; a submitted modal becomes a ModalSubmit with its callback_id
// as Text and the inputs' values in Data. ok is false for actions that carry
// nothing to run.
func slackInteractionOrigin(payload []byte) (o Origin, ok bool, err error) {
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		return Origin{}, false, fmt.Errorf("parse slack interaction: %w", err)
	}
	ev := router.Event{ID: "slack:int:" + ic.TriggerID, Platform: router.Slack, Server: ic.Team.ID,
		User: router.User{ID: ic.User.ID, Name: runes.Truncate(ic.User.Name, 100, "")}, Time: time.Now()}
	data := map[string]any{}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		if len(ic.ActionCallback.BlockActions) == 0 {
			return Origin{}, false, errors.New("slack block_actions without an action")
		}
		a := ic.ActionCallback.BlockActions[0]
		ev.Kind = router.ButtonClick
		switch {
		case a.SelectedOption.Value != "":
			ev.Text = strings.TrimSpace(a.ActionID + " " + a.SelectedOption.Value)
			data["selected"] = a.SelectedOption.Value
		case a.Value != "":
			ev.Text = a.Value
		default:
			ev.Text = a.ActionID
		}
		ev.Channel = ic.Channel.ID
		if ev.Channel == "" {
			ev.Channel = ic.Container.ChannelID
		}
		if ic.Container.MessageTs != "" {
			data["ts"] = ic.Container.MessageTs
		}
		if ic.Container.ThreadTs != "" {
			data["thread_ts"] = ic.Container.ThreadTs
		}
	case slack.InteractionTypeViewSubmission:
		ev.Kind, ev.Text = router.ModalSubmit, ic.View.CallbackID
		ev.Channel = ic.View.PrivateMetadata // the channel the modal was opened from (set by the bot)
		if ic.View.State != nil {
			for _, block := range ic.View.State.Values {
				for id, v := range block {
					val := v.Value
					if v.SelectedOption.Value != "" {
						val = v.SelectedOption.Value
					}
					data[id] = runes.Truncate(val, router.MaxTextLen, "")
				}
			}
		}
	default:
		return Origin{}, false, fmt.Errorf("slack interaction of type %q is not handled", ic.Type)
	}
	if ev.Text == "" {
		return Origin{}, false, nil
	}
	ev.Text = runes.Truncate(ev.Text, router.MaxTextLen, "")
	if len(data) > 0 {
		ev.Data = data
	}
	if err := ev.Validate(); err != nil {
		return Origin{}, false, fmt.Errorf("slack interaction: %w", err)
	}
	return Origin{Event: ev, ResponseURL: ic.ResponseURL, TriggerID: ic.TriggerID}, true, nil
}

// slackOrigin maps a stored delivery of any kind; ok is false for one
// Waddle does not act on.
func slackOrigin(kind string, payload []byte) (Origin, bool, error) {
	switch kind {
	case KindCommand:
		o, err := slackCommandOrigin(payload)
		return o, err == nil, err
	case KindBlockActions, KindViewSubmission:
		return slackInteractionOrigin(payload)
	default:
		ev, ok, err := RouterEvent(payload)
		return Origin{Event: ev}, ok, err
	}
}
