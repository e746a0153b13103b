package router

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waddle/waddle/problem"
)

// DecodeEvent reads one event of the HTTP event API from its JSON. It
// refuses, naming the field, a string that is not valid UTF-8 (raw bytes, or
// an escaped lone surrogate), which encoding/json would quietly turn into
// U+FFFD, and a value of the wrong type. The event still needs Validate.
func DecodeEvent(raw []byte) (Event, error) {
	var ev Event
	if field, bad := invalidUTF8(raw); bad {
		_ = json.Unmarshal(raw, &ev) // for the id in the answer, if it has one
		return ev, notUTF8(field)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		if err := problem.JSON(err, "event"); problem.As(err) != nil {
			return ev, err
		}
		return ev, problem.New(problem.Invalid, "The event is not valid JSON of the event shape.")
	}
	return ev, nil
}

// invalidUTF8 returns the path ("user.name", "data.tags[2]") of the first
// JSON string, key or value, whose text is not valid UTF-8.
func invalidUTF8(raw []byte) (string, bool) {
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return "", false
	}
	type level struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []level
	path := func(last string) string {
		var b strings.Builder
		for i, l := range stack {
			switch {
			case !l.object:
				b.WriteString("[" + strconv.Itoa(l.index) + "]")
			case i == len(stack)-1 && last != "":
				b.WriteString("." + last)
			default:
				b.WriteString("." + l.key)
			}
		}
		return strings.TrimPrefix(b.String(), ".")
	}
	next := func() { // a value of the innermost container ended
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false // the end, or bad JSON, which decoding reports
		}
		text := raw[start:dec.InputOffset()]
		top := len(stack) - 1
		if s, ok := tok.(string); ok && top >= 0 && stack[top].object && stack[top].wantKey {
			if !validJSONText(text) {
				return path(strings.ToValidUTF8(s, "\uFFFD")), true
			}
			stack[top].key, stack[top].wantKey = s, false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, level{object: true, wantKey: true})
			case '[':
				stack = append(stack, level{})
			default:
				stack = stack[:top]
				next()
			}
		case string:
			if !validJSONText(text) {
				return path(""), true
			}
			next()
		default:
			next()
		}
	}
}

// validJSONText reports whether a JSON string token, as written, is valid
// UTF-8 with no escaped lone surrogate.
func validJSONText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) || b[i+1] != 'u' {
			i++ // an escaped character: skip it
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return false
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate with no high one before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
				return false
			}
			lo, ok := hex4(b, i+8)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 11
		default:
			i += 5
		}
	}
	return true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}
