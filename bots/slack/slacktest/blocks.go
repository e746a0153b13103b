package slacktest

import (
	"fmt"
	"unicode/utf8"
)

// Block Kit limits, from Slack's reference: what the fake refuses.
const (
	maxMessageBlocks = 50
	maxModalBlocks   = 100
	maxMessageText   = 40000
)

// checkMessage returns why Slack would refuse a message with text and
// blocks (decoded JSON), or "": no_text, msg_too_long, or the first block
// that breaks a rule.
func checkMessage(text string, blocks any) string {
	list, _ := blocks.([]any)
	if blocks != nil && list == nil {
		return "blocks is not an array"
	}
	if text == "" && len(list) == 0 {
		return "no_text"
	}
	if utf8.RuneCountInString(text) > maxMessageText {
		return "msg_too_long"
	}
	return checkBlocks(list, maxMessageBlocks, false)
}

// checkView returns why views.open would refuse view, or "".
func checkView(v any) string {
	view, _ := v.(map[string]any)
	if view == nil {
		return "view is missing"
	}
	if view["type"] != "modal" {
		return fmt.Sprintf("view type %v: want modal", view["type"])
	}
	if msg := checkText("title", view["title"], 24, true, true); msg != "" {
		return msg
	}
	for _, f := range []string{"submit", "close"} {
		if msg := checkText(f, view[f], 24, true, false); msg != "" {
			return msg
		}
	}
	if s, _ := view["callback_id"].(string); chars(s) > 255 {
		return "callback_id over 255 characters"
	}
	if s, _ := view["private_metadata"].(string); chars(s) > 3000 {
		return "private_metadata over 3000 characters"
	}
	list, _ := view["blocks"].([]any)
	if len(list) == 0 {
		return "a modal needs at least one block"
	}
	hasInput := false
	for _, b := range list {
		if m, _ := b.(map[string]any); m != nil && m["type"] == "input" {
			hasInput = true
		}
	}
	if hasInput && view["submit"] == nil {
		return "a modal with inputs needs submit"
	}
	return checkBlocks(list, maxModalBlocks, true)
}

func checkBlocks(list []any, max int, modal bool) string {
	if len(list) > max {
		return fmt.Sprintf("%d blocks: no more than %d allowed", len(list), max)
	}
	ids := map[string]bool{}
	actions := map[string]bool{}
	for i, raw := range list {
		b, _ := raw.(map[string]any)
		if b == nil {
			return fmt.Sprintf("block %d is not an object", i)
		}
		if id, _ := b["block_id"].(string); id != "" {
			if chars(id) > 255 {
				return fmt.Sprintf("block %d: block_id over 255 characters", i)
			}
			if ids[id] {
				return fmt.Sprintf("block %d: block_id %q repeated", i, id)
			}
			ids[id] = true
		}
		if msg := checkBlock(b, modal, actions); msg != "" {
			return fmt.Sprintf("block %d (%v): %s", i, b["type"], msg)
		}
	}
	return ""
}

func checkBlock(b map[string]any, modal bool, actions map[string]bool) string {
	switch b["type"] {
	case "section":
		fields, _ := b["fields"].([]any)
		if b["text"] == nil && len(fields) == 0 {
			return "a section needs text or fields"
		}
		if b["text"] != nil {
			if msg := checkText("text", b["text"], 3000, false, true); msg != "" {
				return msg
			}
		}
		if len(fields) > 10 {
			return fmt.Sprintf("%d fields: no more than 10", len(fields))
		}
		for _, f := range fields {
			if msg := checkText("field", f, 2000, false, true); msg != "" {
				return msg
			}
		}
	case "actions":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > 25 {
			return fmt.Sprintf("%d elements: 1 to 25", len(els))
		}
		for _, e := range els {
			if msg := checkElement(e, actions); msg != "" {
				return msg
			}
		}
	case "input":
		if !modal {
			return "input blocks belong in modals"
		}
		if msg := checkText("label", b["label"], 2000, true, true); msg != "" {
			return msg
		}
		if b["element"] == nil {
			return "an input needs an element"
		}
		if msg := checkElement(b["element"], actions); msg != "" {
			return msg
		}
	case "header":
		return checkText("text", b["text"], 150, true, true)
	case "context":
		if els, _ := b["elements"].([]any); len(els) == 0 || len(els) > 10 {
			return fmt.Sprintf("%d elements: 1 to 10", len(els))
		}
	case "divider", "image", "rich_text":
	default:
		return "unknown block type"
	}
	return ""
}

func checkElement(raw any, actions map[string]bool) string {
	e, _ := raw.(map[string]any)
	if e == nil {
		return "element is not an object"
	}
	id, _ := e["action_id"].(string)
	if chars(id) > 255 {
		return "action_id over 255 characters"
	}
	if id != "" {
		if actions[id] {
			return fmt.Sprintf("action_id %q repeated", id)
		}
		actions[id] = true
	}
	switch e["type"] {
	case "button":
		if msg := checkText("button text", e["text"], 75, true, true); msg != "" {
			return msg
		}
		if v, _ := e["value"].(string); chars(v) > 2000 {
			return "button value over 2000 characters"
		}
	case "plain_text_input", "static_select", "users_select", "channels_select", "datepicker", "checkboxes", "radio_buttons":
	default:
		return fmt.Sprintf("element type %v not supported here", e["type"])
	}
	return ""
}

// checkText checks a text object: its type (plain_text only when plain),
// and its text of 1 to max characters.
func checkText(what string, raw any, max int, plain, required bool) string {
	if raw == nil {
		if required {
			return what + " is missing"
		}
		return ""
	}
	t, _ := raw.(map[string]any)
	if t == nil {
		return what + " is not a text object"
	}
	switch t["type"] {
	case "plain_text":
	case "mrkdwn":
		if plain {
			return what + " must be plain_text"
		}
	default:
		return fmt.Sprintf("%s has type %v", what, t["type"])
	}
	s, _ := t["text"].(string)
	if n := utf8.RuneCountInString(s); n == 0 || n > max {
		return fmt.Sprintf("%s has %d characters: 1 to %d", what, n, max)
	}
	return ""
}

// chars counts characters, as Slack's limits do.
func chars(s string) int { return utf8.RuneCountInString(s) }
