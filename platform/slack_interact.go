package platform

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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Kinds of stored Slack deliveries that are not Events API events (those
// are stored under their inner event type).
const (
	SlackKindCommand        = "slash_command"
	SlackKindBlockActions   = "block_actions"
	SlackKindViewSubmission = "view_submission"
)

// SlackInbox commits Slack deliveries, from HTTP or Socket Mode, together
// with the job that processes each, once per delivery id.
type SlackInbox struct {
	pool   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	logger *slog.Logger
}

// NewSlackInbox returns an inbox storing in pool and queueing on jobs.
func NewSlackInbox(pool *pgxpool.Pool, jobs *river.Client[pgx.Tx], logger *slog.Logger) *SlackInbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SlackInbox{pool: pool, jobs: jobs, logger: logger}
}

// Event answers an Events API url_verification with its challenge, or
// commits an event_callback (dedup by event_id).
func (in *SlackInbox) Event(ctx context.Context, body []byte) (SlackAck, error) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		in.logger.WarnContext(ctx, "slack request not understood", "err", err)
		return SlackAck{}, problem.Invalidf("body", "The body is not an Events API payload this app understands (malformed JSON or an unknown event type).")
	}
	switch ev.Type {
	case slackevents.URLVerification:
		uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok || uv.Challenge == "" {
			return SlackAck{}, problem.Invalidf("challenge", "The url_verification request has no challenge.")
		}
		return SlackAck{Challenge: uv.Challenge}, nil
	case slackevents.AppRateLimited:
		in.logger.WarnContext(ctx, "slack reports that it dropped events: the app went over its Events API rate limit", "team", ev.TeamID)
		return SlackAck{}, nil
	case slackevents.CallbackEvent:
	default:
		in.logger.WarnContext(ctx, "slack request of an unknown type", "type", ev.Type)
		return SlackAck{}, problem.Invalidf("type", "Unknown Events API request type %q.", ev.Type)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" || len(cb.EventID) > 200 {
		return SlackAck{}, problem.Invalidf("event_id", "The event_callback has no usable event_id.")
	}
	return in.store(ctx, cb.EventID, ev.InnerEvent.Type, body)
}

// Command commits a slash command (dedup by trigger_id).
func (in *SlackInbox) Command(ctx context.Context, cmd slack.SlashCommand) (SlackAck, error) {
	for _, f := range []struct{ name, v string }{{"team_id", cmd.TeamID}, {"user_id", cmd.UserID}, {"command", cmd.Command}, {"trigger_id", cmd.TriggerID}} {
		if f.v == "" || len(f.v) > 190 {
			in.logger.WarnContext(ctx, "slack slash command without "+f.name)
			return SlackAck{}, problem.Invalidf(f.name, "The slash command has no usable %s.", f.name)
		}
	}
	cmd.Token = "" // the legacy verification token is not needed later (nor stored: see scrub.go)
	payload, err := json.Marshal(cmd)
	if err != nil {
		return SlackAck{}, fmt.Errorf("encode slack slash command: %w", err)
	}
	return in.store(ctx, "cmd:"+cmd.TriggerID, SlackKindCommand, payload)
}

// Interaction commits a block_actions or view_submission payload (dedup by
// trigger_id).
func (in *SlackInbox) Interaction(ctx context.Context, payload []byte) (SlackAck, error) {
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		in.logger.WarnContext(ctx, "slack interaction not understood", "err", err)
		return SlackAck{}, problem.Invalidf("payload", "The payload is not an interaction this app understands (malformed JSON).")
	}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		if len(ic.ActionCallback.BlockActions) == 0 {
			return SlackAck{}, problem.Invalidf("actions", "The block_actions payload has no action.")
		}
	case slack.InteractionTypeViewSubmission:
	default:
		in.logger.WarnContext(ctx, "slack interaction of an unknown type", "type", ic.Type)
		return SlackAck{}, problem.Invalidf("type", "Unknown interaction type %q: want block_actions or view_submission.", ic.Type)
	}
	if ic.Team.ID == "" || ic.User.ID == "" {
		return SlackAck{}, problem.Invalidf("team", "The interaction names no team or user.")
	}
	if ic.TriggerID == "" || len(ic.TriggerID) > 190 {
		return SlackAck{}, problem.Invalidf("trigger_id", "The interaction has no usable trigger_id.")
	}
	return in.store(ctx, "int:"+ic.TriggerID, string(ic.Type), payload)
}

// store commits a delivery and its job in one transaction; a message id
// already stored is a duplicate, even while its transaction is still open:
// the unique insert waits for it.
func (in *SlackInbox) store(ctx context.Context, messageID, kind string, payload []byte) (SlackAck, error) {
	payload, err := scrubPayload(payload, scrubOnReceive)
	if err != nil {
		in.logger.WarnContext(ctx, "slack delivery not storable", "id", messageID, "err", err)
		return SlackAck{}, problem.Invalidf("body", "The payload is not valid JSON.")
	}
	var ack SlackAck
	err = pgx.BeginFunc(ctx, in.pool, func(tx pgx.Tx) error {
		id, err := db.New(tx).DeliveryInsert(ctx, db.DeliveryInsertParams{
			Platform: router.Slack, MessageID: messageID, Kind: kind, Payload: payload,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			ack.Duplicate = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("store slack delivery %s: %w", messageID, err)
		}
		if _, err := in.jobs.InsertTx(ctx, tx, SlackDeliveryArgs{DeliveryID: id}, nil); err != nil {
			return fmt.Errorf("queue slack delivery %s: %w", messageID, err)
		}
		ack.DeliveryID = id
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22P05" { // a \u0000 escape, which jsonb cannot hold
		in.logger.WarnContext(ctx, "slack delivery not storable", "id", messageID, "err", err)
		return SlackAck{}, problem.Invalidf("body", "The event contains a NUL character escape, which cannot be stored.")
	}
	if err != nil {
		return SlackAck{}, err
	}
	if ack.Duplicate {
		in.logger.InfoContext(ctx, "slack delivery already stored; acknowledged again", "id", messageID)
	}
	return ack, nil
}

// ReceiveCommand checks a slash command request's signature and commits
// it with its job.
func (s *SlackReceiver) ReceiveCommand(ctx context.Context, header http.Header, body []byte) (SlackAck, error) {
	if err := s.verify(header, body); err != nil {
		s.logger.WarnContext(ctx, "slack slash command rejected", "err", err)
		return SlackAck{}, ErrSlackSignature
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.logger.WarnContext(ctx, "slack slash command not understood", "err", err)
		return SlackAck{}, problem.Invalidf("body", "The body is not a form-encoded slash command.")
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
func (s *SlackReceiver) ReceiveInteraction(ctx context.Context, header http.Header, body []byte) (SlackAck, error) {
	if err := s.verify(header, body); err != nil {
		s.logger.WarnContext(ctx, "slack interaction rejected", "err", err)
		return SlackAck{}, ErrSlackSignature
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		s.logger.WarnContext(ctx, "slack interaction without a payload", "err", err)
		return SlackAck{}, problem.Invalidf("payload", "The body has no payload form field.")
	}
	return s.inbox.Interaction(ctx, []byte(form.Get("payload")))
}

// SlackOrigin is a routed Slack event with what its answer needs beyond
// the event: slash commands and message buttons are answered through their
// response URL, and a modal can only open with a fresh trigger id.
type SlackOrigin struct {
	Event       router.Event
	ResponseURL string // "": answer through the Web API
	TriggerID   string // valid for 3 seconds after the user acted
}

// slackCommandOrigin maps a stored slash command: "/waddlebot hello world"
// becomes a SlashCommand event with Text "hello world".
func slackCommandOrigin(payload []byte) (SlackOrigin, error) {
	var cmd slack.SlashCommand
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return SlackOrigin{}, fmt.Errorf("parse slack slash command: %w", err)
	}
	ev := router.Event{ID: "slack:cmd:" + cmd.TriggerID, Platform: router.Slack, Kind: router.SlashCommand,
		Server: cmd.TeamID, Channel: cmd.ChannelID, User: router.User{ID: cmd.UserID, Name: runes.Truncate(cmd.UserName, 100, "")},
		Text: runes.Truncate(strings.TrimSpace(cmd.Text), router.MaxTextLen, ""), Time: time.Now(),
		Data: map[string]any{"command": cmd.Command}}
	if err := ev.Validate(); err != nil {
		return SlackOrigin{}, fmt.Errorf("slack slash command: %w", err)
	}
	return SlackOrigin{Event: ev, ResponseURL: cmd.ResponseURL, TriggerID: cmd.TriggerID}, nil
}

// slackInteractionOrigin maps a stored interaction: a button's action (its
// value, else its action_id) or a select's action_id and chosen value become
// a ButtonClick; a submitted modal becomes a ModalSubmit with its callback_id
// as Text and the inputs' values in Data. ok is false for actions that carry
// nothing to run.
func slackInteractionOrigin(payload []byte) (o SlackOrigin, ok bool, err error) {
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		return SlackOrigin{}, false, fmt.Errorf("parse slack interaction: %w", err)
	}
	ev := router.Event{ID: "slack:int:" + ic.TriggerID, Platform: router.Slack, Server: ic.Team.ID,
		User: router.User{ID: ic.User.ID, Name: runes.Truncate(ic.User.Name, 100, "")}, Time: time.Now()}
	data := map[string]any{}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		if len(ic.ActionCallback.BlockActions) == 0 {
			return SlackOrigin{}, false, errors.New("slack block_actions without an action")
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
		return SlackOrigin{}, false, fmt.Errorf("slack interaction of type %q is not handled", ic.Type)
	}
	if ev.Text == "" {
		return SlackOrigin{}, false, nil
	}
	ev.Text = runes.Truncate(ev.Text, router.MaxTextLen, "")
	if len(data) > 0 {
		ev.Data = data
	}
	if err := ev.Validate(); err != nil {
		return SlackOrigin{}, false, fmt.Errorf("slack interaction: %w", err)
	}
	return SlackOrigin{Event: ev, ResponseURL: ic.ResponseURL, TriggerID: ic.TriggerID}, true, nil
}

// slackOrigin maps a stored delivery of any kind; ok is false for one
// Waddle does not act on.
func slackOrigin(kind string, payload []byte) (SlackOrigin, bool, error) {
	switch kind {
	case SlackKindCommand:
		o, err := slackCommandOrigin(payload)
		return o, err == nil, err
	case SlackKindBlockActions, SlackKindViewSubmission:
		return slackInteractionOrigin(payload)
	default:
		ev, ok, err := SlackRouterEvent(payload)
		return SlackOrigin{Event: ev}, ok, err
	}
}
