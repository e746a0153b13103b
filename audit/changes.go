package audit

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/waddle/waddle/runes"
)

// Change is one field an action changed, for a reader: "response: "hi" → "hello"".
// Nested fields are named by their path ("alerts.follow.template").
type Change struct {
	Field string
	Old   string // the value before, as compact JSON; "" when the entry has no before
	New   string // the value after; "" when the entry has no after
}

// String is the change on one line: "field: old → new", or "field: value"
// for an entry that has only a before (a deletion) or only an after (a creation).
func (c Change) String() string {
	switch {
	case c.Old == "":
		return c.Field + ": " + c.New
	case c.New == "":
		return c.Field + ": " + c.Old
	}
	return c.Field + ": " + c.Old + " → " + c.New
}

// absent marks a field one side of an update lacks.
const absent = "(none)"

// maxValue bounds a value as Changes shows it, in runes; the API gives the whole JSON.
const maxValue = 200

// Changes lists what the entry changed, by field name: for an update the
// fields that differ (a field only one side has shows "(none)" on the other),
// for a creation or a deletion every field. A before or after that is not a
// JSON object shows as one field named "value".
func (it Item) Changes() []Change {
	before, after := flatten(it.Before), flatten(it.After)
	fields := map[string]bool{}
	for k := range before {
		fields[k] = true
	}
	for k := range after {
		fields[k] = true
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]Change, 0, len(names))
	for _, k := range names {
		o, hasOld := before[k]
		n, hasNew := after[k]
		switch {
		case it.Before == nil:
			out = append(out, Change{Field: k, New: n})
		case it.After == nil:
			out = append(out, Change{Field: k, Old: o})
		case hasOld && hasNew && o == n:
			// unchanged
		default:
			if !hasOld {
				o = absent
			}
			if !hasNew {
				n = absent
			}
			out = append(out, Change{Field: k, Old: o, New: n})
		}
	}
	return out
}

// flatten reads a JSON document into its leaves by path, each rendered as
// compact JSON (strings quoted, except the secret markers). Arrays are leaves.
func flatten(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	if len(raw) == 0 {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		out["value"] = clip(string(raw))
		return out
	}
	if m, ok := v.(map[string]any); ok {
		walk("", m, out)
		return out
	}
	out["value"] = show(v)
	return out
}

func walk(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			walk(path, sub, out)
			continue
		}
		out[path] = show(v)
	}
}

// show renders one value: marker strings as they are, other values as compact JSON.
func show(v any) string {
	if s, ok := v.(string); ok && (s == SecretSet || s == SecretChanged) {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the page escapes; "<b>" reads better than "\u003cb\u003e"
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return clip(strings.TrimSuffix(b.String(), "\n"))
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxValue {
		return s
	}
	return strings.TrimSpace(runes.Truncate(s, maxValue, "")) + "…"
}
