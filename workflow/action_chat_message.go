package workflow

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Chat message targets.
const (
	TargetTrigger = "trigger" // the channel the trigger came from
	TargetChannel = "channel" // a chosen linked channel on any platform
	TargetPrivate = "private" // a whisper or DM to a user
)

// MaxChatText is the longest chat message a node sends, in characters once
// rendered; a longer one is cut (and the trace says so).
const MaxChatText = 500

// ChatMessage is action_chat_message's configuration.
type ChatMessage struct {
	Target   string `json:"target"`             // trigger, channel or private
	Platform string `json:"platform,omitempty"` // channel, private (private: the trigger's when empty)
	Server   string `json:"server,omitempty"`   // the linked channel login, guild id or team id
	Channel  string `json:"channel,omitempty"`  // channel: the channel id to post in
	User     string `json:"user,omitempty"`     // private: the user id, a template ("{{ trigger.user_id }}")
	Text     string `json:"text"`               // a template
}

// Check names the field at fault.
func (cfg *ChatMessage) Check(c *Checker) {
	switch cfg.Target {
	case TargetTrigger:
	case TargetChannel:
		if !validPlatform(cfg.Platform) {
			c.Errorf("platform", "Choose the platform: twitch, discord or slack.")
		}
		if cfg.Server == "" || len(cfg.Server) > 100 {
			c.Errorf("server", "Choose the linked server (1 to 100 characters).")
		}
		if cfg.Channel == "" || len(cfg.Channel) > 100 {
			c.Errorf("channel", "Choose the channel to post in (1 to 100 characters).")
		}
	case TargetPrivate:
		if cfg.Platform != "" && !validPlatform(cfg.Platform) {
			c.Errorf("platform", "Choose the platform: twitch, discord or slack (or none: the trigger's).")
		}
		if len(cfg.Server) > 100 {
			c.Errorf("server", "A server has at most 100 characters.")
		}
		if cfg.User == "" {
			c.Errorf("user", "Give the user to write to, e.g. {{ trigger.user_id }}.")
		} else {
			c.Template("user", cfg.User, 200)
		}
	default:
		c.Errorf("target", "Choose where to send it: trigger, channel or private.")
	}
	if cfg.Text == "" {
		c.Errorf("text", "Write the message.")
	} else {
		c.Template("text", cfg.Text, 2000)
	}
}

func init() {
	register(&Kind{
		Type:     "action_chat_message",
		Category: CategoryAction,
		Title:    "Chat message",
		Summary:  "Sends a message to the triggering channel, a chosen linked channel, or a user privately.",
		New:      func() Config { return &ChatMessage{Target: TargetTrigger} },
		Effect:   true,
		Run:      runChatMessage,
	})
}

// errNoTriggerChannel fails target "trigger" when the run did not start in chat.
var errNoTriggerChannel = errors.New("target: the trigger has no chat channel to answer in (a schedule or webhook?); choose a channel instead")

func runChatMessage(ctx context.Context, x *Exec, c Config) (Result, error) {
	cfg := c.(*ChatMessage)
	m := router.Message{Text: x.Render(cfg.Text)}
	if utf8.RuneCountInString(m.Text) > MaxChatText {
		m.Text = runes.Truncate(m.Text, MaxChatText, "…")
		x.Notes = append(x.Notes, "the message was cut to 500 characters")
	}
	t := triggerOf(x.Scope)
	switch cfg.Target {
	case TargetTrigger:
		if t.Platform == "" || t.Server == "" || t.Channel == "" {
			return Result{}, errNoTriggerChannel
		}
		if t.Server == router.SimulatorServer {
			// The chat simulator never posts to a real chat: the message is
			// the node's output, shown in the run's trace.
			x.Notes = append(x.Notes, "the trigger came from the chat simulator: the message is shown here, not posted to chat")
			return Result{Output: map[string]any{"sent": false, "simulator": true, "platform": t.Platform, "text": m.Text}}, nil
		}
		m.Platform, m.Server, m.Channel = t.Platform, t.Server, t.Channel
	case TargetChannel:
		m.Platform, m.Server, m.Channel = cfg.Platform, cfg.Server, cfg.Channel
	case TargetPrivate:
		m.Platform, m.Server, m.User = cfg.Platform, cfg.Server, x.Render(cfg.User)
		if m.Platform == "" {
			m.Platform, m.Server = t.Platform, t.Server
		}
		if m.Platform == "" || m.Server == "" {
			return Result{}, errors.New("platform: the trigger has no chat server; choose the platform and server")
		}
		if m.User == "" {
			return Result{}, errors.New("user: the user rendered empty")
		}
	}
	res, err := x.Env.Router.Send(ctx, x.Run.CommunityID, m, router.Options{DryRun: x.Run.DryRun})
	if err != nil {
		return Result{}, err
	}
	out := map[string]any{"sent": !x.Run.DryRun, "platform": m.Platform, "server": m.Server, "text": m.Text}
	if m.User != "" {
		out["user"] = m.User
	} else {
		out["channel"] = m.Channel
	}
	if x.Run.DryRun && len(res.Changes) > 0 {
		out["change"] = res.Changes[0]
	}
	return Result{Output: out}, nil
}
