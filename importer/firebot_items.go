package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// fbTimer is a Firebot timer (timers.json, a setup's components.timers).
type fbTimer struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Active            *bool           `json:"active"`
	Interval          float64         `json:"interval"` // seconds
	RequiredChatLines float64         `json:"requiredChatLines"`
	OnlyWhenLive      bool            `json:"onlyWhenLive"`
	Effects           json.RawMessage `json:"effects"`
}

// fbCounter is a Firebot counter (counters/counters.json).
type fbCounter struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Value *float64 `json:"value"`
}

// fbCurrency is a Firebot currency (currency/currency.json).
type fbCurrency struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// timer translates one Firebot timer. Firebot's interval is in seconds;
// Waddle's in whole minutes (rounded up, 1..1440).
func (fr *firebotReader) timer(t fbTimer) {
	label := t.Name
	if label == "" {
		label = t.ID
	}
	skip := func(reason string) {
		fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "timer", Name: label, Reason: reason})
	}
	chat, err := firebotEffects(t.Effects)
	if err != nil {
		skip("its effects cannot be read: " + err.Error())
		return
	}
	if chat.message == "" {
		if len(chat.others) == 0 {
			skip("it has no effects")
		} else {
			skip("it has no chat message; its effects cannot run in Waddle: " + strings.Join(chat.others, ", "))
		}
		return
	}
	if len(fr.b.Timers) >= MaxTimers {
		skip(fmt.Sprintf("more than %d timers", MaxTimers))
		return
	}
	tm := Timer{Name: label, Original: chat.message, Enabled: t.Active == nil || *t.Active}
	tm.Message, tm.Attention = fr.translate(chat.message)
	tm.Attention = append(tm.Attention, chat.attention...)
	if len(chat.others) > 0 {
		tm.Attention = append(tm.Attention, "its other effects are not imported: "+strings.Join(chat.others, ", "))
	}
	secs := t.Interval
	if math.IsNaN(secs) || secs <= 0 {
		secs = 60
		tm.Attention = append(tm.Attention, "it had no interval; it is set to every minute")
	}
	mins := int(math.Min(math.Ceil(secs/60), 1440))
	if mins < 1 {
		mins = 1
	}
	if float64(mins*60) != secs && secs < 1440*60 {
		tm.Attention = append(tm.Attention, fmt.Sprintf("Firebot ran it every %g seconds; Waddle runs it every %d minute(s)", secs, mins))
	}
	tm.IntervalMinutes = mins
	if !t.OnlyWhenLive {
		tm.OfflineMinutes = mins
	}
	if t.RequiredChatLines > 0 {
		tm.MinLines = int(math.Min(t.RequiredChatLines, 10000))
	}
	fr.b.Timers = append(fr.b.Timers, tm)
}

// readTimers reads timers.json.
func (fr *firebotReader) readTimers(p fbPart) error {
	var doc map[string]fbTimer
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	for _, t := range fbSortedByName(doc, func(t fbTimer) string { return t.Name }) {
		fr.timer(t)
	}
	return nil
}

// fbSortedByName lists a Firebot file's items (an object keyed by id) by
// name, then id, so the preview is stable.
func fbSortedByName[T any](m map[string]T, name func(T) string) []T {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := name(m[ids[i]]), name(m[ids[j]])
		if a != b {
			return a < b
		}
		return ids[i] < ids[j]
	})
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// counter adds one Firebot counter under a Waddle name.
func (fr *firebotReader) counter(c fbCounter) {
	name, ok := firebotName(c.Name)
	skip := func(reason string) {
		fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "counter", Name: c.Name, Reason: reason})
	}
	switch {
	case !ok:
		skip(fmt.Sprintf("the name cannot be a Waddle counter name (letters, digits and _, up to %d)", MaxNameLen))
		return
	case len(fr.b.Counters) >= MaxCounters:
		skip(fmt.Sprintf("more than %d counters", MaxCounters))
		return
	}
	for _, have := range fr.b.Counters {
		if have.Name == name {
			skip(fmt.Sprintf("another counter is also named %s in Waddle", name))
			return
		}
	}
	var v int64
	if c.Value != nil {
		f := math.Trunc(*c.Value)
		if math.IsNaN(f) || math.Abs(f) > MaxPoints {
			skip("its value is out of range")
			return
		}
		v = int64(f)
	}
	fr.b.Counters = append(fr.b.Counters, Counter{Name: name, Value: v})
}

// readCounters reads counters/counters.json.
func (fr *firebotReader) readCounters(p fbPart) error {
	var doc map[string]fbCounter
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	for _, c := range fbSortedByName(doc, func(c fbCounter) string { return c.Name }) {
		fr.counter(c)
	}
	return nil
}

// currency records one currency; viewers' balances name it.
func (fr *firebotReader) currency(c fbCurrency) {
	if c.ID == "" {
		return
	}
	if _, ok := fr.currencyBy[c.ID]; ok {
		return
	}
	name := strings.TrimSpace(c.Name)
	if name == "" {
		name = c.ID
	}
	for _, have := range fr.currencies {
		if have.Name == name {
			name = name + " (" + c.ID + ")"
			break
		}
	}
	fr.currencyBy[c.ID] = name
	fr.currencies = append(fr.currencies, fbCurrency{ID: c.ID, Name: name})
}

// readCurrencies reads currency/currency.json.
func (fr *firebotReader) readCurrencies(p fbPart) error {
	var doc map[string]fbCurrency
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	for id, c := range doc {
		if c.ID == "" {
			c.ID = id
			doc[id] = c
		}
	}
	for _, c := range fbSortedByName(doc, func(c fbCurrency) string { return c.Name }) {
		fr.currency(c)
	}
	return nil
}

// readFilters reads the banned words or banned regular expressions.
// Firebot matched both without regard to case, so a regular expression
// gets (?i); one RE2 refuses is skipped.
func (fr *firebotReader) readFilters(kind firebotKind, p fbPart) error {
	type item struct {
		Text string `json:"text"`
	}
	var doc struct {
		Words              []item `json:"words"`
		RegularExpressions []item `json:"regularExpressions"`
	}
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	add := func(f Filter) {
		if len(fr.b.Filters) >= MaxFilters {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "filter", Name: f.Pattern, Reason: fmt.Sprintf("more than %d filters", MaxFilters)})
			return
		}
		fr.b.Filters = append(fr.b.Filters, f)
	}
	if kind == fbWords {
		for _, w := range doc.Words {
			if t := strings.TrimSpace(w.Text); t != "" {
				add(Filter{Kind: "word", Pattern: strings.ToLower(t)})
			}
		}
		return nil
	}
	for _, r := range doc.RegularExpressions {
		if r.Text == "" {
			continue
		}
		pat := "(?i)" + r.Text
		if _, err := regexp.Compile(pat); err != nil {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "filter", Name: r.Text, Reason: "Waddle's regular expressions (RE2) cannot read it: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")})
			continue
		}
		add(Filter{Kind: "regex", Pattern: pat})
	}
	return nil
}

// readSetup reads a .firebotsetup file: its commands, counters, currencies
// and timers; every other component is listed as not imported.
func (fr *firebotReader) readSetup(p fbPart) error {
	var doc struct {
		Name            string                     `json:"name"`
		Components      map[string]json.RawMessage `json:"components"`
		ImportQuestions []struct {
			ReplaceToken string `json:"replaceToken"`
			Question     string `json:"question"`
		} `json:"importQuestions"`
		RequireCurrency bool `json:"requireCurrency"`
	}
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	if doc.Components == nil {
		return &FileError{File: p.name, Message: "not a Firebot setup: it has no components"}
	}
	var (
		commands   []fbCommand
		counters   []fbCounter
		currencies []fbCurrency
		timers     []fbTimer
	)
	known := map[string]any{"commands": &commands, "counters": &counters, "currencies": &currencies, "timers": &timers}
	keys := make([]string, 0, len(doc.Components))
	for k := range doc.Components {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := doc.Components[k]
		if dst, ok := known[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				msg := err.Error()
				var typ *json.UnmarshalTypeError
				if errors.As(err, &typ) {
					msg = fmt.Sprintf("%s should be %s, not %s", fbJSONField(typ.Field), fbJSONKind(typ.Type.Kind().String()), typ.Value)
				}
				return &FileError{File: p.name, Message: "components." + k + ": " + msg}
			}
			continue
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil && len(items) > 0 {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "file", Name: fmt.Sprintf("%s: %d %s", p.name, len(items), k), Reason: "Waddle has no equivalent of Firebot's " + k})
		}
	}
	for _, c := range currencies {
		fr.currency(c)
	}
	for _, c := range counters {
		fr.counter(c)
	}
	for _, c := range commands {
		fr.command(c)
	}
	for _, t := range timers {
		fr.timer(t)
	}
	for _, q := range doc.ImportQuestions {
		if q.ReplaceToken != "" {
			fr.b.Notes = append(fr.b.Notes, fmt.Sprintf("The setup %s asks %q on import; its answer replaces %s, which is left as written.", p.name, q.Question, q.ReplaceToken))
		}
	}
	return nil
}
