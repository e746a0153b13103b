package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
)

// Nightbot's API answers (api-docs.nightbot.tv), as uploaded or fetched.
type nbCommand struct {
	ID        string `json:"_id"`
	Name      string `json:"name"`
	Message   string `json:"message"`
	CoolDown  int64  `json:"coolDown"` // seconds
	Count     int64  `json:"count"`
	UserLevel string `json:"userLevel"`
	// Default is set on Nightbot's built-in commands (GET
	// /1/commands/default), which are not the channel's own.
	Default string `json:"_name"`
}

type nbTimer struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Message  string `json:"message"`
	Interval string `json:"interval"` // cron
	Lines    int    `json:"lines"`
	Enabled  bool   `json:"enabled"`
}

type nbRegular struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Provider    string `json:"provider"`
}

type nbFilter struct {
	Type      string  `json:"_type"`
	Name      string  `json:"_name"`
	Enabled   bool    `json:"enabled"`
	Blacklist *string `json:"blacklist"`
}

// nbAnswer is any of GET /1/commands, /1/timers, /1/regulars and
// /1/spam_protection; which lists are present says which it is.
type nbAnswer struct {
	Total    *int         `json:"_total"`
	Commands *[]nbCommand `json:"commands"`
	Timers   *[]nbTimer   `json:"timers"`
	Regulars *[]nbRegular `json:"regulars"`
	Filters  *[]nbFilter  `json:"filters"`
}

// nbData is everything read from Nightbot, before translation.
type nbData struct {
	commands []nbCommand
	timers   []nbTimer
	regulars []nbRegular
	filters  []nbFilter
}

// ReadNightbot reads uploads of what Nightbot's API answers: GET
// /1/commands and GET /1/timers (and, when given, /1/regulars and
// /1/spam_protection), each file recognised by its content.
func ReadNightbot(files []File) (*Bundle, error) {
	if len(files) == 0 {
		return nil, &FileError{File: "(none)", Message: "no file was given: upload the JSON of Nightbot's commands or timers"}
	}
	var d nbData
	for _, f := range files {
		a, err := readNightbotFile(f)
		if err != nil {
			return nil, err
		}
		if a.Commands != nil {
			d.commands = append(d.commands, *a.Commands...)
		}
		if a.Timers != nil {
			d.timers = append(d.timers, *a.Timers...)
		}
		if a.Regulars != nil {
			d.regulars = append(d.regulars, *a.Regulars...)
		}
		if a.Filters != nil {
			d.filters = append(d.filters, *a.Filters...)
		}
	}
	return d.bundle(), nil
}

func readNightbotFile(f File) (*nbAnswer, error) {
	if f.Size > MaxCommandsBytes {
		return nil, &FileError{File: f.Name, Message: fmt.Sprintf("the file is %d bytes; a Nightbot file has at most %d", f.Size, MaxCommandsBytes)}
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxCommandsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name, err)
	}
	if len(data) > MaxCommandsBytes {
		return nil, &FileError{File: f.Name, Message: fmt.Sprintf("the file is larger than %d bytes", MaxCommandsBytes)}
	}
	var a nbAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, nbJSONError(f.Name, data, err)
	}
	if a.Commands == nil && a.Timers == nil && a.Regulars == nil && a.Filters == nil {
		return nil, &FileError{File: f.Name, Message: `this is not what Nightbot's API answers: it has no "commands" or "timers" list (save the answer of GET /1/commands or GET /1/timers)`}
	}
	return &a, nil
}

// nbJSONError turns a JSON decoding error into a FileError naming the
// line.
func nbJSONError(name string, data []byte, err error) *FileError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		msg := "the JSON is malformed: " + syn.Error()
		if syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
			msg = "the JSON ends too early (is the file cut short?)"
		}
		return &FileError{File: name, Line: nbLineAt(data, syn.Offset), Message: msg}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "document"
		}
		return &FileError{File: name, Line: nbLineAt(data, typ.Offset), Message: fmt.Sprintf("the field %q must be %s, not %s", field, nbKind(typ.Type), typ.Value)}
	}
	return &FileError{File: name, Message: "the JSON cannot be read: " + err.Error()}
}

// nbKind names a Go type the way a JSON file has it.
func nbKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

func nbLineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// bundle translates what was read.
func (d nbData) bundle() *Bundle {
	b := &Bundle{Source: Nightbot, Commands: []Command{}, Timers: []Timer{}, Quotes: []Quote{}, Counters: []Counter{}, Filters: []Filter{}, Skipped: []Skipped{}}
	seen := map[string]bool{}
	for _, c := range d.commands {
		if len(b.Commands) >= MaxCommands {
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Name, Reason: fmt.Sprintf("more than %d commands", MaxCommands)})
			continue
		}
		name, ok := apiCommandName(c.Name)
		switch {
		case c.Default != "":
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Default, Reason: "a Nightbot built-in command, not one of the channel's own; Waddle has its own built-in modules"})
			continue
		case !ok:
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Name, Reason: apiBadName(c.Name)})
			continue
		case seen[name]:
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Name, Reason: "another command has the same name"})
			continue
		case strings.TrimSpace(c.Message) == "":
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Name, Reason: "the command has no message"})
			continue
		}
		seen[name] = true
		resp, att := translateNightbot(c.Message)
		perm, why := nightbotLevel(c.UserLevel)
		if why != "" {
			att = append(att, why)
		}
		att = append(att, apiReplyAttention(resp)...)
		b.Commands = append(b.Commands, Command{
			Name: name, Aliases: []string{}, Response: resp, Original: c.Message, Attention: att,
			Permission: perm, SourceLevel: c.UserLevel, GlobalCooldown: apiSeconds(c.CoolDown),
			Enabled: true, Count: max(c.Count, 0),
		})
	}
	for _, t := range d.timers {
		if len(b.Timers) >= MaxTimers {
			b.Skipped = append(b.Skipped, Skipped{Category: "timer", Name: t.Name, Reason: fmt.Sprintf("more than %d timers", MaxTimers)})
			continue
		}
		if strings.TrimSpace(t.Message) == "" {
			b.Skipped = append(b.Skipped, Skipped{Category: "timer", Name: t.Name, Reason: "the timer has no message"})
			continue
		}
		msg, att := translateNightbot(t.Message)
		minutes, why := nightbotInterval(t.Interval)
		if why != "" {
			att = append(att, why)
		}
		name := apiTimerName(t.Name, "")
		if name == "" {
			name = fmt.Sprintf("Nightbot timer %d", len(b.Timers)+1)
		}
		att = append(att, apiReplyAttention(msg)...)
		b.Timers = append(b.Timers, Timer{
			Name: name, Message: msg, Original: t.Message, Attention: att,
			IntervalMinutes: minutes, MinLines: min(max(t.Lines, 0), 10000), Enabled: t.Enabled,
		})
	}
	if len(d.timers) > 0 {
		b.Notes = append(b.Notes, "Nightbot's timers post only while the stream is live, and count chat lines per 5 minutes; Waddle's imported timers post only while live and wait for that many lines since their last post.")
	}
	for _, r := range d.regulars {
		login := strings.ToLower(strings.TrimSpace(r.Name))
		if login == "" {
			continue
		}
		b.Regulars = append(b.Regulars, login)
	}
	for _, f := range d.filters {
		b.addNightbotFilter(f)
	}
	return b
}

// addNightbotFilter adds the blacklist's entries; Nightbot's other
// filters (caps, links, emotes, symbols, repetitions) are listed as not
// imported when they are on.
func (b *Bundle) addNightbotFilter(f nbFilter) {
	if f.Type != "blacklist" {
		if f.Enabled {
			b.Skipped = append(b.Skipped, Skipped{Category: "filter", Name: f.Type, Reason: fmt.Sprintf("Nightbot's %s filter has no Waddle equivalent to import; set a moderation rule by hand", f.Type)})
		}
		return
	}
	if f.Blacklist == nil {
		return
	}
	if !f.Enabled && strings.TrimSpace(*f.Blacklist) != "" {
		b.Notes = append(b.Notes, "Nightbot's blacklist filter was off; its entries are imported as rules all the same.")
	}
	for line := range strings.SplitSeq(*f.Blacklist, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(b.Filters) >= MaxFilters {
			b.Skipped = append(b.Skipped, Skipped{Category: "filter", Name: line, Reason: fmt.Sprintf("more than %d filters", MaxFilters)})
			continue
		}
		fl, why := nightbotBlacklistEntry(line)
		if why != "" {
			b.Skipped = append(b.Skipped, Skipped{Category: "filter", Name: line, Reason: why})
			continue
		}
		b.Filters = append(b.Filters, fl)
	}
}

// nightbotBlacklistEntry reads one blacklist line: "~/regex/flags" is a
// regular expression, a word with "*" a wildcard (made a regular
// expression), anything else a word or phrase.
func nightbotBlacklistEntry(line string) (Filter, string) {
	if rest, ok := strings.CutPrefix(line, "~/"); ok {
		end := strings.LastIndexByte(rest, '/')
		if end < 0 {
			return Filter{}, "a regular expression entry must be ~/pattern/"
		}
		pat, flags := rest[:end], rest[end+1:]
		if strings.Trim(flags, "gimsuy") != "" {
			return Filter{}, fmt.Sprintf("the flags %q are not regular-expression flags", flags)
		}
		if strings.Contains(flags, "m") || strings.Contains(flags, "s") {
			pat = "(?" + strings.Trim(flags, "giuy") + ")" + pat
		}
		if why := apiRegex(pat); why != "" {
			return Filter{}, why
		}
		return Filter{Kind: "regex", Pattern: pat}, ""
	}
	if strings.Contains(line, "*") {
		parts := strings.Split(line, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		pat := strings.Join(parts, `\S*`)
		if why := apiRegex(pat); why != "" {
			return Filter{}, why
		}
		return Filter{Kind: "regex", Pattern: pat}, ""
	}
	return Filter{Kind: "word", Pattern: line}, ""
}
