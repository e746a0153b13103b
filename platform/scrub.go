package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// A stored delivery keeps nothing that lets its reader act as the app or
// answer in a user's name longer than its processing needs:
//   - Slack's legacy verification token (top-level "token"; Waddle checks the
//     signing secret instead) and any other token or secret field are dropped
//     before the delivery is stored;
//   - a response_url (which posts into the channel for 30 minutes, no other
//     credential needed), a trigger_id (opens a modal for 3 seconds) and a
//     workflow interactivity_pointer are dropped in the statement that marks
//     the delivery processed, so a retried job still has them and a processed
//     one, kept a week for de-duplication and inspection, does not.
// Twitch EventSub bodies carry none of these (the subscription's secret is
// never sent back, and its transport holds only our callback URL); they pass
// through the same scrub, which leaves them as they are.

// scrubWhen says which fields a scrub drops.
type scrubWhen int

const (
	scrubOnReceive   scrubWhen = iota // secrets never needed
	scrubOnProcessed                  // and the answer handles processing needed
)

// usableKey reports whether a field named k holds something usable that a
// delivery in the given state need not keep.
func usableKey(k string, when scrubWhen) bool {
	switch k {
	case "token", "secret":
		return true
	case "response_url", "response_urls", "trigger_id", "interactivity_pointer":
		return when == scrubOnProcessed
	}
	return strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_secret")
}

// scrubPayload returns the JSON payload without its usable fields, at any
// depth. Numbers keep their text.
func scrubPayload(payload []byte, when scrubWhen) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("scrub delivery payload: %w", err)
	}
	if !scrubValue(v, when) {
		return payload, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("scrub delivery payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// scrubValue drops the usable fields inside v and reports whether it dropped any.
func scrubValue(v any, when scrubWhen) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, inner := range x {
			if usableKey(k, when) {
				delete(x, k)
				changed = true
				continue
			}
			changed = scrubValue(inner, when) || changed
		}
	case []any:
		for _, inner := range x {
			changed = scrubValue(inner, when) || changed
		}
	}
	return changed
}
