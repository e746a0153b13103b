// Package router is Waddle's engine: every chat message and platform event,
// from the bots, the HTTP event API or the hub's chat simulator, goes through
// Router.Handle, which runs commands, moderation rules and activity points and
// returns what the platform adapter must do.
package router

import (
	"fmt"
	"math"
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
	maxDataLen  = 2000 // bytes of one string in data
	maxDataDeep = 5    // levels of nesting in data
)

// Amount bounds a whole number that event data carries.
type Amount struct{ Min, Max int64 }

// Amounts are the numbers event data may carry, by key, with their bounds
// (inclusive). Each must be a whole number in its range wherever it appears;
// none is required (an event without one counts 0). handlers/openapi.yaml
// documents them.
var Amounts = map[string]Amount{
	"bits":    {1, 1_000_000},  // a cheer, or a chat message that cheers
	"viewers": {0, 10_000_000}, // a raid
	"months":  {1, 1200},       // a subscription's months
	"count":   {1, 1000},       // subscriptions in a gift
	"minutes": {0, 24 * 60},    // a stay in voice, reported when it ends
	"amount":  {0, 1_000_000},  // the number an alert shows
}

// Validate checks an event from outside and names the first bad field: a
// required field that is missing, one too long, a string that is not valid
// UTF-8 (anywhere, data included), an amount that is not a whole number
// within its bounds (Amounts).
func (e *Event) Validate() error {
	req := func(field, v string, max int) error {
		switch {
		case v == "":
			return problem.Invalidf(field, "The field %q is required.", field)
		case !utf8.ValidString(v):
			return notUTF8(field)
		case len(v) > max:
			return problem.Invalidf(field, "The field %q has at most %d characters.", field, max)
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
	if !utf8.ValidString(e.Channel) {
		return notUTF8("channel")
	}
	if len(e.Channel) > maxNameLen {
		return problem.Invalidf("channel", "The field \"channel\" has at most %d characters.", maxNameLen)
	}
	if err := req("user.id", e.User.ID, maxNameLen); err != nil {
		return err
	}
	for field, v := range map[string]string{"user.name": e.User.Name, "user.display_name": e.User.DisplayName} {
		if !utf8.ValidString(v) {
			return notUTF8(field)
		}
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
			return problem.Invalidf("user.roles", "Unknown role %q: want broadcaster, moderator, vip or subscriber.", strings.ToValidUTF8(r, "\uFFFD"))
		}
	}
	if !utf8.ValidString(e.Text) {
		return notUTF8("text")
	}
	if utf8.RuneCountInString(e.Text) > MaxTextLen {
		return problem.Invalidf("text", "The text has at most %d characters.", MaxTextLen)
	}
	if len(e.Data) > maxDataKeys {
		return problem.Invalidf("data", "At most %d data fields.", maxDataKeys)
	}
	for k, v := range e.Data {
		if err := validData("data."+k, k, v, 0); err != nil {
			return err
		}
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Text = strings.TrimSpace(e.Text)
	return nil
}

func notUTF8(field string) error {
	return problem.Invalidf(field, "The field %q is not valid UTF-8.", field)
}

// validData checks one value of event data at path: its strings (keys
// included) are valid UTF-8 and bounded, an amount is a whole number within
// its bounds, and it nests at most maxDataDeep levels.
func validData(path, key string, v any, depth int) error {
	if !utf8.ValidString(key) {
		return notUTF8(strings.ToValidUTF8(path, "\uFFFD"))
	}
	if depth > maxDataDeep {
		return problem.Invalidf(path, "Event data nests at most %d levels.", maxDataDeep)
	}
	if b, ok := Amounts[key]; ok && depth == 0 {
		n, ok := wholeNumber(v)
		if !ok || n < b.Min || n > b.Max {
			return problem.Invalidf(path, "The field %q is a whole number from %d to %d.", path, b.Min, b.Max)
		}
		return nil
	}
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return notUTF8(path)
		}
		if len(v) > maxDataLen {
			return problem.Invalidf(path, "The field %q has at most %d characters.", path, maxDataLen)
		}
	case map[string]any:
		if len(v) > maxDataKeys {
			return problem.Invalidf(path, "At most %d fields in %q.", maxDataKeys, path)
		}
		for k, x := range v {
			if err := validData(path+"."+k, k, x, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if len(v) > maxDataKeys {
			return problem.Invalidf(path, "At most %d items in %q.", maxDataKeys, path)
		}
		for i, x := range v {
			if err := validData(fmt.Sprintf("%s[%d]", path, i), "", x, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// wholeNumber reads an amount: an integer, or a float64 (as JSON numbers
// arrive) with no fractional part that an int64 holds exactly.
func wholeNumber(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// dataInt reads an amount of the event data (0 when absent or not a whole
// number: Validate refuses those).
func (e Event) dataInt(key string) int64 {
	n, _ := wholeNumber(e.Data[key])
	return n
}
