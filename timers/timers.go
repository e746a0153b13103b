// Package timers posts a community's timed messages: a message every N
// minutes in one linked channel, when at least M chat lines were seen there
// since the last one, and optionally only while the stream is live.
//
// Service edits them; Scheduler fires them (every instance runs one, and
// each fire time is handled once across instances); Lines counts chat lines
// and follows streams going live and offline from the router's events.
package timers

import (
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Outcomes of a fire time, as the timer's last outcome and its ticks record.
const (
	Posted         = "posted"          // the message was handed to the bot
	SkippedLines   = "skipped_lines"   // fewer chat lines than required since the last post
	SkippedOffline = "skipped_offline" // the timer waits for a live stream, and none was live
	SkippedLate    = "skipped_late"    // the fire time was long past (the server was down)
	Failed         = "failed"          // the bot could not send it; LastError says why
)

// Limits of a timer.
const (
	MaxName        = 64
	MaxMessage     = 500
	MinInterval    = 1    // minutes
	MaxInterval    = 1440 // minutes: a day
	MaxMinLines    = 10000
	maxChannel     = 100
	maxErrorLength = 500
)

// ErrNotFound answers a timer that does not exist in the community.
var ErrNotFound = problem.New(problem.NotFound, "There is no such timer.")

// Timer is one timer and what became of its last fire time.
type Timer struct {
	ID              int64
	CommunityID     int64
	Name            string
	Message         string
	Platform        string // twitch, discord, slack
	Server          string // the linked channel login, guild id or team id
	Channel         string // the channel posted in (on Twitch, the channel login)
	IntervalMinutes int
	MinLines        int
	OnlyLive        bool
	Enabled         bool
	LinesSince      int64      // chat lines seen since the last post (flushed every few seconds)
	NextFireAt      *time.Time // nil while disabled, or before an imported timer is first picked up
	LastFiredAt     *time.Time // the last fire time that posted (or tried to)
	LastOutcome     string     // one of the outcomes; "" before the first fire time
	LastOutcomeAt   *time.Time
	LastError       string
	Imported        bool // written by an import from another bot
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Input is a timer as a manager writes it.
type Input struct {
	Name            string
	Message         string
	Platform        string
	Server          string
	Channel         string // required on Discord and Slack; on Twitch the channel is the server
	IntervalMinutes int
	MinLines        int
	OnlyLive        bool
	Enabled         bool
}

// Target is a channel a timer may post in: one of the community's linked
// servers (on Discord and Slack, with a channel id of that server).
type Target struct {
	Platform string
	Server   string
	Name     string // the linked server's name, for pickers
}

// Why says in words what the last outcome means, for the hub.
func (t Timer) Why() string {
	switch t.LastOutcome {
	case Posted:
		return "Posted."
	case SkippedLines:
		return "Skipped: fewer chat lines than required since the last post."
	case SkippedOffline:
		return "Skipped: the stream was offline."
	case SkippedLate:
		return "Skipped: its time had long passed (Waddle was not running)."
	case Failed:
		if t.LastError != "" {
			return "Failed: " + t.LastError
		}
		return "Failed."
	}
	return "Not fired yet."
}

func timerOf(r db.Timer) Timer {
	return Timer{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name, Message: r.Message, Platform: r.Platform,
		Server: r.Server, Channel: channelOf(r), IntervalMinutes: int(r.IntervalMinutes), MinLines: int(r.MinLines),
		OnlyLive: r.OnlyLive, Enabled: r.Enabled, LinesSince: r.LinesSince, NextFireAt: r.NextFireAt,
		LastFiredAt: r.LastFiredAt, LastOutcome: r.LastOutcome, LastOutcomeAt: r.LastOutcomeAt, LastError: r.LastError,
		Imported: r.ImportID != nil, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// channelOf is where a timer posts: on Twitch the channel is the login
// (an import may leave it empty).
func channelOf(r db.Timer) string {
	if r.Platform == "twitch" {
		return r.Server
	}
	return r.Channel
}
