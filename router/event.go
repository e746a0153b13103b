// Package router is Waddle's engine: every chat message and platform event,
// from the bots, the HTTP event API or the hub's chat simulator, goes through
// Router.Handle, which runs commands, moderation rules and activity points and
// returns what the platform adapter must do.
package router

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waddle/waddle/problem"
)

// Platforms.
const (
	Twitch  = "twitch"
	Discord = "discord"
	Slack   = "slack"
)

// Platforms lists the platforms in the order the hub shows them.
var Platforms = []string{Twitch, Discord, Slack}

// Kind is what happened.
type Kind string

// Event kinds.
const (
	ChatMessage   Kind = "chat_message"
	SlashCommand  Kind = "slash_command"
	ButtonClick   Kind = "button"
	ModalSubmit   Kind = "modal_submit"
	Follow        Kind = "follow"
	Subscribe     Kind = "subscribe"
	GiftSub       Kind = "gift_subscription"
	Cheer         Kind = "cheer"
	Raid          Kind = "raid"
	Ban           Kind = "ban"
	MemberJoin    Kind = "member_join"
	Reaction      Kind = "reaction"
	VoiceJoin     Kind = "voice_join"
	VoiceLeave    Kind = "voice_leave"
	Boost         Kind = "boost"
	FileShare     Kind = "file_share"
	AppMention    Kind = "app_mention"
	StreamOnline  Kind = "stream_online"
	StreamOffline Kind = "stream_offline"
)

// Kinds lists every event kind.
var Kinds = []Kind{ChatMessage, SlashCommand, ButtonClick, ModalSubmit, Follow, Subscribe, GiftSub, Cheer, Raid, Ban,
	MemberJoin, Reaction, VoiceJoin, VoiceLeave, Boost, FileShare, AppMention, StreamOnline, StreamOffline}

// Badges the platforms give users.
const (
	BadgeBroadcaster = "broadcaster" // Twitch broadcaster, Discord guild owner, Slack workspace owner
	BadgeModerator   = "moderator"
	BadgeVIP         = "vip"
	BadgeSubscriber  = "subscriber"
)

// User is who caused an event, as the platform describes them.
type User struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Roles       []string `json:"roles"`
}

// Has reports whether the platform gave the user a badge.
func (u User) Has(badge string) bool {
	for _, r := range u.Roles {
		if r == badge {
			return true
		}
	}
	return false
}

// Shown is the name to address the user by.
func (u User) Shown() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Name
}

// Event is one platform-neutral event.
type Event struct {
	ID       string         `json:"id"`
	Platform string         `json:"platform"`
	Kind     Kind           `json:"kind"`
	Server   string         `json:"server"`  // Twitch channel login, Discord guild id, Slack team id
	Channel  string         `json:"channel"` // channel id within the server
	User     User           `json:"user"`
	Text     string         `json:"text"`
	Data     map[string]any `json:"data"` // kind-specific: "viewers", "bits", "months", "minutes", …
	Time     time.Time      `json:"time"`
}

// Limits on event fields.
const (
	MaxTextLen  = 2000
	maxIDLen    = 200
	maxNameLen  = 100
	maxDataKeys = 50
)

// Validate checks an event from outside and names the first bad field.
func (e *Event) Validate() error {
	req := func(field, v string, max int) error {
		switch {
		case v == "":
			return problem.Invalidf(field, "The field %q is required.", field)
		case len(v) > max:
			return problem.Invalidf(field, "The field %q has at most %d characters.", field, max)
		case !utf8.ValidString(v):
			return problem.Invalidf(field, "The field %q is not valid UTF-8.", field)
		}
		return nil
	}
	if err := req("id", e.ID, maxIDLen); err != nil {
		return err
	}
	if err := req("platform", e.Platform, 20); err != nil {
		return err
	}
	if e.Platform != Twitch && e.Platform != Discord && e.Platform != Slack {
		return problem.Invalidf("platform", "Unknown platform %q: want twitch, discord or slack.", e.Platform)
	}
	if err := req("kind", string(e.Kind), 40); err != nil {
		return err
	}
	known := false
	for _, k := range Kinds {
		known = known || k == e.Kind
	}
	if !known {
		return problem.Invalidf("kind", "Unknown kind %q.", e.Kind)
	}
	if err := req("server", e.Server, maxNameLen); err != nil {
		return err
	}
	if len(e.Channel) > maxNameLen {
		return problem.Invalidf("channel", "The field \"channel\" has at most %d characters.", maxNameLen)
	}
	if err := req("user.id", e.User.ID, maxNameLen); err != nil {
		return err
	}
	if len(e.User.Name) > maxNameLen || len(e.User.DisplayName) > maxNameLen {
		return problem.Invalidf("user.name", "User names have at most %d characters.", maxNameLen)
	}
	if e.User.Name == "" {
		e.User.Name = e.User.ID
	}
	if len(e.User.Roles) > 10 {
		return problem.Invalidf("user.roles", "At most 10 roles.")
	}
	for _, r := range e.User.Roles {
		if r != BadgeBroadcaster && r != BadgeModerator && r != BadgeVIP && r != BadgeSubscriber {
			return problem.Invalidf("user.roles", "Unknown role %q: want broadcaster, moderator, vip or subscriber.", r)
		}
	}
	if utf8.RuneCountInString(e.Text) > MaxTextLen || !utf8.ValidString(e.Text) {
		return problem.Invalidf("text", "The text has at most %d characters of valid UTF-8.", MaxTextLen)
	}
	if len(e.Data) > maxDataKeys {
		return problem.Invalidf("data", "At most %d data fields.", maxDataKeys)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Text = strings.TrimSpace(e.Text)
	return nil
}

// dataInt reads a whole number from the event data (JSON numbers arrive as float64).
func (e Event) dataInt(key string) int64 {
	switch v := e.Data[key].(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return 0
}
