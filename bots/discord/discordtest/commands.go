package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// What Discord refuses of application commands, interaction callbacks,
// audit-log reasons and messages in threads (Discord's API docs as of
// 2026): the REST fake answers these as Discord does.
const (
	// MaxGuildCommands is how many chat-input commands a guild may have.
	MaxGuildCommands = 100
	// MaxDailyCreates is how many commands an application may create in a
	// guild a day; a bulk overwrite counts only names the guild lacked.
	MaxDailyCreates = 200
)

// commandName is Discord's rule for command and option names (lower case
// where a letter has cases).
var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// Command is an application command a guild has.
type Command struct {
	ID          string          `json:"id"`
	AppID       string          `json:"application_id"`
	GuildID     string          `json:"guild_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Type        int             `json:"type"`
	Options     json.RawMessage `json:"options,omitempty"`
	Version     string          `json:"version"`
}

// commandRules is the state behind Discord's refusals.
type commandRules struct {
	mu       sync.Mutex
	commands map[string][]Command // "app/guild" → its commands
	creates  map[string]int       // "app/guild/2006-01-02" → creates that day
	threads  map[string]thread    // thread id → its parent and whether the bot may post
	reasons  []Reason
	now      func() time.Time
	nextID   int
}

// Reason is an audit-log reason Discord accepted, decoded.
type Reason struct {
	Method, Path, Text string
}

// Reasons returns the audit-log reasons accepted, oldest first.
func (f *REST) Reasons() []Reason {
	f.cmd.mu.Lock()
	defer f.cmd.mu.Unlock()
	return append([]Reason(nil), f.cmd.reasons...)
}

// SetCreates sets how many commands the application created in guild on day.
func (f *REST) SetCreates(app, guild string, day time.Time, n int) {
	f.cmd.mu.Lock()
	defer f.cmd.mu.Unlock()
	if f.cmd.creates == nil {
		f.cmd.creates = map[string]int{}
	}
	f.cmd.creates[app+"/"+guild+"/"+day.UTC().Format(time.DateOnly)] = n
}

type thread struct {
	guild, parent string
	canSend       bool
}

// Thread makes id a public thread of parent in guild; canSend is whether the
// bot has Send Messages in Threads there. GET /channels/{id} answers it, and
// a message posted in it without the permission is refused (403, 50013).
func (f *REST) Thread(guild, parent, id string, canSend bool) {
	f.cmd.mu.Lock()
	defer f.cmd.mu.Unlock()
	if f.cmd.threads == nil {
		f.cmd.threads = map[string]thread{}
	}
	f.cmd.threads[id] = thread{guild: guild, parent: parent, canSend: canSend}
}

// SetNow sets the clock that days of command creates are counted by.
func (f *REST) SetNow(now func() time.Time) {
	f.cmd.mu.Lock()
	f.cmd.now = now
	f.cmd.mu.Unlock()
}

// Commands returns the commands a guild has, in registration order.
func (f *REST) Commands(app, guild string) []Command {
	f.cmd.mu.Lock()
	defer f.cmd.mu.Unlock()
	return append([]Command(nil), f.cmd.commands[app+"/"+guild]...)
}

// Creates is how many commands the application created in guild on day.
func (f *REST) Creates(app, guild string, day time.Time) int {
	f.cmd.mu.Lock()
	defer f.cmd.mu.Unlock()
	return f.cmd.creates[app+"/"+guild+"/"+day.UTC().Format(time.DateOnly)]
}

// refuse answers what Discord would refuse or what this file keeps the
// state of (guild commands, threads); it reports whether it answered.
func (f *REST) refuse(w http.ResponseWriter, r *http.Request, req Request) bool {
	w.Header().Set("Content-Type", "application/json")
	if vals, ok := r.Header["X-Audit-Log-Reason"]; ok {
		if msg := badReason(vals); msg != "" {
			invalidForm(w, "X-Audit-Log-Reason", msg)
			return true
		}
		dec, _ := url.PathUnescape(vals[0])
		f.cmd.mu.Lock()
		f.cmd.reasons = append(f.cmd.reasons, Reason{Method: req.Method, Path: req.Path, Text: dec})
		f.cmd.mu.Unlock()
	}
	parts := strings.Split(strings.Trim(req.Path, "/"), "/")
	switch {
	case len(parts) == 5 && parts[0] == "applications" && parts[2] == "guilds" && parts[4] == "commands":
		return f.guildCommands(w, req, parts[1], parts[3])
	case len(parts) == 4 && parts[0] == "interactions" && parts[3] == "callback":
		return refuseCallback(w, req.Body)
	case len(parts) == 2 && parts[0] == "channels" && req.Method == http.MethodGet:
		f.cmd.mu.Lock()
		th, ok := f.cmd.threads[parts[1]]
		f.cmd.mu.Unlock()
		if ok {
			json.NewEncoder(w).Encode(map[string]any{"id": parts[1], "type": 11, "guild_id": th.guild, "parent_id": th.parent, "name": "thread"})
		}
		return ok
	case len(parts) == 3 && parts[0] == "channels" && parts[2] == "messages" && req.Method == http.MethodPost:
		f.cmd.mu.Lock()
		th, ok := f.cmd.threads[parts[1]]
		f.cmd.mu.Unlock()
		if ok && !th.canSend {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Missing Permissions","code":50013}`)
			return true
		}
	}
	return false
}

// badReason says what is wrong with an X-Audit-Log-Reason: Discord takes 1
// to 512 characters, URL-encoded.
func badReason(vals []string) string {
	if len(vals) != 1 {
		return "one reason per request"
	}
	v := vals[0]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f {
			return fmt.Sprintf("byte %#x at %d is not URL-encoded", c, i)
		}
	}
	dec, err := url.PathUnescape(v)
	if err != nil {
		return "not URL-encoded: " + err.Error()
	}
	if !utf8.ValidString(dec) {
		return "not UTF-8 once decoded"
	}
	if n := utf8.RuneCountInString(dec); n < 1 || n > 512 {
		return fmt.Sprintf("%d characters, where Discord takes 1 to 512", n)
	}
	return ""
}

func invalidForm(w http.ResponseWriter, field, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{"message": "Invalid Form Body", "code": 50035,
		"errors": map[string]any{field: map[string]any{"_errors": []any{map[string]any{"code": "BASE_TYPE_INVALID", "message": msg}}}}})
}

// guildCommands answers GET, PUT (bulk overwrite) and POST (create one) of a
// guild's commands, refusing what Discord refuses.
func (f *REST) guildCommands(w http.ResponseWriter, req Request, app, guild string) bool {
	key := app + "/" + guild
	c := &f.cmd
	switch req.Method {
	case http.MethodGet:
		c.mu.Lock()
		cmds := append([]Command{}, c.commands[key]...)
		c.mu.Unlock()
		json.NewEncoder(w).Encode(cmds)
		return true
	case http.MethodPut, http.MethodPost:
	default:
		return false
	}
	var in []Command
	if req.Method == http.MethodPost {
		var one Command
		if err := json.Unmarshal([]byte(req.Body), &one); err != nil {
			invalidForm(w, "_", "not a command")
			return true
		}
		in = []Command{one}
	} else if err := json.Unmarshal([]byte(req.Body), &in); err != nil {
		invalidForm(w, "_", "not a list of commands")
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	have := map[string]Command{}
	for _, old := range c.commands[key] {
		have[old.Name] = old
	}
	next := in
	if req.Method == http.MethodPost {
		next = nil
		for _, old := range c.commands[key] {
			if old.Name != in[0].Name {
				next = append(next, old)
			}
		}
		next = append(next, in[0])
	}
	chat, seen := 0, map[string]bool{}
	for i, cmd := range next {
		if cmd.Type == 0 {
			next[i].Type, cmd.Type = 1, 1
		}
		if cmd.Type == 1 {
			chat++
		}
		if msg := badCommand(cmd); msg != "" {
			invalidForm(w, fmt.Sprintf("%d.name", i), msg)
			return true
		}
		if seen[cmd.Name] {
			invalidForm(w, fmt.Sprintf("%d.name", i), "APPLICATION_COMMANDS_DUPLICATE_NAME: "+cmd.Name)
			return true
		}
		seen[cmd.Name] = true
	}
	if chat > MaxGuildCommands {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"Maximum number of application commands reached (100)","code":30032}`)
		return true
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	t := now().UTC()
	day := key + "/" + t.Format(time.DateOnly)
	created := 0
	for _, cmd := range in {
		if _, ok := have[cmd.Name]; !ok {
			created++
		}
	}
	if c.creates == nil {
		c.creates = map[string]int{}
	}
	if c.commands == nil {
		c.commands = map[string][]Command{}
	}
	if created > 0 && c.creates[day]+created > MaxDailyCreates {
		left := t.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(t).Seconds()
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"message": "Max number of daily application command creates has been reached (200)",
			"retry_after": left, "global": false, "code": 30034})
		return true
	}
	c.creates[day] += created
	for i := range next {
		if old, ok := have[next[i].Name]; ok {
			next[i].ID = old.ID
		} else if next[i].ID == "" {
			c.nextID++
			next[i].ID = fmt.Sprint(8000 + c.nextID)
		}
		next[i].AppID, next[i].GuildID, next[i].Version = app, guild, "1"
	}
	c.commands[key] = next
	if req.Method == http.MethodPost {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(next[len(next)-1])
		return true
	}
	json.NewEncoder(w).Encode(next)
	return true
}

// badCommand says what Discord refuses in a command, or "".
func badCommand(c Command) string {
	if !commandName.MatchString(c.Name) || strings.ToLower(c.Name) != c.Name {
		return fmt.Sprintf("APPLICATION_COMMAND_INVALID_NAME: %q", c.Name)
	}
	if n := utf8.RuneCountInString(c.Description); c.Type == 1 && (n < 1 || n > 100) {
		return fmt.Sprintf("description of %q has %d characters, where Discord takes 1 to 100", c.Name, n)
	}
	var opts []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if len(c.Options) > 0 {
		if err := json.Unmarshal(c.Options, &opts); err != nil {
			return "options are not a list"
		}
	}
	if len(opts) > 25 {
		return "more than 25 options"
	}
	for _, o := range opts {
		if !commandName.MatchString(o.Name) || strings.ToLower(o.Name) != o.Name {
			return fmt.Sprintf("option name %q", o.Name)
		}
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
			return fmt.Sprintf("option %q: description of %d characters", o.Name, n)
		}
	}
	return ""
}

// refuseCallback refuses a modal (type 9) without 1 to 5 top-level
// components, each a Label (18) around a Text Input (4), a Text Display
// (10), or the deprecated Action Row (1) holding one Text Input, and an
// autocomplete result (type 8) with more than 25 choices. It answers only
// a refusal.
func refuseCallback(w http.ResponseWriter, body string) bool {
	var cb struct {
		Type int `json:"type"`
		Data struct {
			CustomID   string            `json:"custom_id"`
			Title      string            `json:"title"`
			Components []json.RawMessage `json:"components"`
			Choices    []struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
			} `json:"choices"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &cb); err != nil {
		invalidForm(w, "_", "not an interaction response")
		return true
	}
	switch cb.Type {
	case 8:
		if len(cb.Data.Choices) > 25 {
			invalidForm(w, "data.choices", fmt.Sprintf("%d choices, where Discord takes at most 25", len(cb.Data.Choices)))
			return true
		}
		for i, ch := range cb.Data.Choices {
			if n := utf8.RuneCountInString(ch.Name); n < 1 || n > 100 {
				invalidForm(w, fmt.Sprintf("data.choices.%d.name", i), "1 to 100 characters")
				return true
			}
		}
	case 9:
		d := cb.Data
		if n := utf8.RuneCountInString(d.Title); n < 1 || n > 45 {
			invalidForm(w, "data.title", "1 to 45 characters")
			return true
		}
		if n := len(d.CustomID); n < 1 || n > 100 {
			invalidForm(w, "data.custom_id", "1 to 100 characters")
			return true
		}
		if n := len(d.Components); n < 1 || n > 5 {
			invalidForm(w, "data.components", fmt.Sprintf("%d components, where a modal has 1 to 5", n))
			return true
		}
		for i, raw := range d.Components {
			if msg := badModalComponent(raw); msg != "" {
				invalidForm(w, fmt.Sprintf("data.components.%d", i), msg)
				return true
			}
		}
	}
	return false
}

type textInput struct {
	Type     int    `json:"type"`
	CustomID string `json:"custom_id"`
	Style    int    `json:"style"`
	Label    string `json:"label"`
}

func badModalComponent(raw json.RawMessage) string {
	var c struct {
		Type       int         `json:"type"`
		Label      string      `json:"label"`
		Component  *textInput  `json:"component"`
		Components []textInput `json:"components"`
		Content    string      `json:"content"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "not a component"
	}
	switch c.Type {
	case 18:
		if n := utf8.RuneCountInString(c.Label); n < 1 || n > 45 {
			return "a label has 1 to 45 characters"
		}
		if c.Component == nil || c.Component.Type != 4 {
			return "a label holds one text input"
		}
		if c.Component.Label != "" {
			return "a text input in a label has no label of its own"
		}
		return badTextInput(*c.Component)
	case 10:
		if c.Content == "" {
			return "a text display has content"
		}
		return ""
	case 1:
		if len(c.Components) != 1 || c.Components[0].Type != 4 || c.Components[0].Label == "" {
			return "an action row in a modal holds one labelled text input"
		}
		return badTextInput(c.Components[0])
	}
	return fmt.Sprintf("component type %d is not allowed in a modal", c.Type)
}

func badTextInput(t textInput) string {
	if n := len(t.CustomID); n < 1 || n > 100 {
		return "a text input's custom_id has 1 to 100 characters"
	}
	if t.Style != 1 && t.Style != 2 {
		return "a text input's style is 1 or 2"
	}
	return ""
}
