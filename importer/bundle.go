package importer

import (
	"fmt"
	"time"
)

// Source names a bot an import comes from.
type Source string

// The sources.
const (
	Nightbot       Source = "nightbot"
	StreamElements Source = "streamelements"
	Streamlabs     Source = "streamlabs"
	Firebot        Source = "firebot"
	PhantomBot     Source = "phantombot"
)

// Sources lists every source, in the order the hub shows them.
var Sources = []Source{Nightbot, StreamElements, Streamlabs, Firebot, PhantomBot}

// Title is the source's name as people write it.
func (s Source) Title() string {
	switch s {
	case Nightbot:
		return "Nightbot"
	case StreamElements:
		return "StreamElements"
	case Streamlabs:
		return "Streamlabs Chatbot"
	case Firebot:
		return "Firebot"
	case PhantomBot:
		return "PhantomBot"
	}
	return string(s)
}

// Limits on what a source may bring.
const (
	MaxCommandsBytes = 5 << 20   // a commands, timers or quotes file
	MaxViewersBytes  = 200 << 20 // a viewer database through `waddle import`
	MaxBrowserBytes  = 50 << 20  // any upload through the hub
	MaxCommands      = 10_000
	MaxTimers        = 500
	MaxQuotes        = 100_000
	MaxCounters      = 10_000
	MaxFilters       = 5_000
	MaxViewers       = 2_000_000
	MaxZipEntries    = 10_000
	MaxZipUnpacked   = 1 << 30 // the sum of a zip's entries, unpacked
	MaxZipRatio      = 200     // unpacked size over packed size, per entry
	MaxNameLen       = 32      // command and counter names, as Waddle keeps them
	MaxReplyLen      = 500
	MaxPoints        = 9007199254740991 // ±(2^53 − 1), as the points ledger
)

// Bundle is everything read from one source, translated.
type Bundle struct {
	Source   Source    `json:"source"`
	Commands []Command `json:"commands"`
	Timers   []Timer   `json:"timers"`
	Quotes   []Quote   `json:"quotes"`
	Counters []Counter `json:"counters"`
	Filters  []Filter  `json:"filters"`
	// Regulars are logins the source trusted (Nightbot's regulars); Waddle
	// lists them in the report (it has no "regular" level).
	Regulars []string `json:"regulars,omitempty"`
	// Points are the viewers' balances, in the file's order. With several
	// currencies, each balance names its currency and Currencies lists them.
	Points     []Balance `json:"points,omitempty"`
	Currencies []string  `json:"currencies,omitempty"`
	// Skipped is what cannot be imported, each with why.
	Skipped []Skipped `json:"skipped"`
	// Notes are facts about the reading the manager should see in the
	// preview, e.g. "Dates read as day/month: 23/04/2021 is on line 7."
	Notes []string `json:"notes,omitempty"`
}

// Command is a chat command as it will be created.
type Command struct {
	Name     string   `json:"name"`    // lower case, without the prefix; [a-z0-9_]{1,32}
	Aliases  []string `json:"aliases"` // the same form
	Response string   `json:"response"`
	// Original is the reply as the source wrote it, shown beside Response.
	Original string `json:"original"`
	// Attention lists what could not be translated (kept as written), with
	// the reason: "$(urlfetch …) fetches a URL; Waddle has no equivalent".
	Attention []string `json:"attention,omitempty"`
	// Permission is Waddle's level (router.Everyone …); SourceLevel is the
	// source's own, as written ("moderator", "500", "Regular").
	Permission     string `json:"permission"`
	SourceLevel    string `json:"source_level"`
	UserCooldown   int    `json:"user_cooldown_seconds"`
	GlobalCooldown int    `json:"global_cooldown_seconds"`
	Enabled        bool   `json:"enabled"`
	Count          int64  `json:"count"`
}

// Timer is a message posted every interval.
type Timer struct {
	Name      string   `json:"name"`
	Message   string   `json:"message"`
	Original  string   `json:"original"`
	Attention []string `json:"attention,omitempty"`
	// IntervalMinutes while live; OfflineMinutes while offline (0: only
	// while live).
	IntervalMinutes int  `json:"interval_minutes"`
	OfflineMinutes  int  `json:"offline_minutes"`
	MinLines        int  `json:"min_lines"`
	Enabled         bool `json:"enabled"`
}

// Quote is a quote with what the source knew of it.
type Quote struct {
	Number  int       `json:"number"` // the source's number; 0: next free
	Text    string    `json:"text"`
	Game    string    `json:"game,omitempty"`
	Date    time.Time `json:"date,omitzero"` // zero: unknown
	AddedBy string    `json:"added_by,omitempty"`
}

// Counter is a named counter and its value.
type Counter struct {
	Name  string `json:"name"` // [a-z0-9_]{1,32}
	Value int64  `json:"value"`
}

// Filter is a banned word or pattern, imported as a moderation rule that
// deletes the message.
type Filter struct {
	Kind    string `json:"kind"` // "word" or "regex" (RE2; a pattern RE2 refuses is Skipped)
	Pattern string `json:"pattern"`
}

// Balance is a viewer's balance in the source.
type Balance struct {
	Login    string `json:"login"`              // lower case
	UserID   string `json:"user_id,omitempty"`  // the platform's id, when the source had it
	Platform string `json:"platform,omitempty"` // "" means twitch
	Name     string `json:"name,omitempty"`     // shown name, when different from the login
	Points   int64  `json:"points"`
	Seconds  int64  `json:"seconds,omitempty"` // time watched
	Currency string `json:"currency,omitempty"`
}

// Skipped is one thing that cannot be imported.
type Skipped struct {
	Category string `json:"category"` // "command", "timer", "quote", "counter", "filter", "points", "file"
	Name     string `json:"name"`
	Reason   string `json:"reason"`
}

// FileError is a file that cannot be read, naming where it is wrong.
type FileError struct {
	File    string // the file's name as uploaded (or its path in a zip)
	Line    int    // 1-based; 0 when not by line
	Cell    string // a spreadsheet cell ("Currency!C17"); "" when not a sheet
	Message string
}

func (e *FileError) Error() string {
	switch {
	case e.Cell != "":
		return fmt.Sprintf("%s, cell %s: %s", e.File, e.Cell, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s, line %d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// File is one uploaded file, saved to disk first (within the limits above)
// so that a parser can stream it, seek in it (zip, spreadsheet) or open it
// as a database (SQLite).
type File struct {
	Name string // as uploaded, for errors and the report
	Path string // where it is on disk
	Size int64
}
