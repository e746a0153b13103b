package importer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Firebot's replace variables are $name or $name[arg, arg, …], and an
// argument may itself hold variables. The ones with a Waddle equivalent
// are translated (see firebotVar); every other one is kept as written and
// the item needs attention, with the reason.

// translate turns a Firebot chat message into a Waddle reply.
func (fr *firebotReader) translate(s string) (string, []string) {
	out, att := firebotTranslate(s)
	if len(fr.currencies) > 1 && strings.Contains(strings.ToLower(s), "$currency[") {
		att = append(att, "$currency[…]: Firebot had several currencies; Waddle's {points} shows the one you import")
	}
	if len(out) > MaxReplyLen {
		att = append(att, fmt.Sprintf("the reply is %d bytes; Waddle cuts replies at %d", len(out), MaxReplyLen))
	}
	return out, att
}

// firebotTranslate translates every variable in s.
func firebotTranslate(s string) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var att []string
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) || !fbIsLetter(s[i+1]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (fbIsLetter(s[j]) || fbIsDigit(s[j]) || s[j] == '_') {
			j++
		}
		name := s[i+1 : j]
		end, hasArgs := j, false
		var args []string
		if j < len(s) && s[j] == '[' {
			closeAt := fbMatchBracket(s, j)
			if closeAt < 0 {
				b.WriteString(s[i:])
				att = append(att, fmt.Sprintf("$%s[ has no closing ]; kept as written", name))
				break
			}
			hasArgs = true
			args = fbSplitArgs(s[j+1 : closeAt])
			end = closeAt + 1
		}
		written := s[i:end]
		out, reason := firebotVar(name, args, hasArgs)
		if reason != "" {
			b.WriteString(written)
			att = append(att, fbShorten(written)+": "+reason)
		} else {
			b.WriteString(out)
		}
		i = end
	}
	return b.String(), att
}

func fbIsLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func fbIsDigit(c byte) bool  { return c >= '0' && c <= '9' }

// fbMatchBracket is the index of the ] closing the [ at open, or -1. A
// backslash escapes the next byte.
func fbMatchBracket(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// fbSplitArgs splits a variable's arguments at commas outside brackets.
func fbSplitArgs(s string) []string {
	var args []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}

func fbShorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// firebotReasons says why a variable without an equivalent needs
// attention; the key is the variable's name in lower case.
var firebotReasons = map[string]string{
	"readapi":             "fetches a URL; Waddle does not fetch URLs in replies",
	"readfile":            "reads a file on the streamer's computer; Waddle cannot",
	"readfilerandom":      "reads a file on the streamer's computer; Waddle cannot",
	"filelinecount":       "reads a file on the streamer's computer; Waddle cannot",
	"evaljs":              "runs JavaScript; Waddle does not run scripts in replies",
	"js":                  "runs JavaScript; Waddle does not run scripts in replies",
	"quote":               "Waddle's {quote} shows a random quote, without Firebot's options",
	"randomquote":         "Waddle's {quote} shows a random quote, without Firebot's options",
	"time":                "depends on the streamer's time zone; Waddle has no time variable",
	"date":                "depends on the streamer's time zone; Waddle has no date variable",
	"uptime":              "Waddle has no uptime variable",
	"game":                "Waddle has no game or category variable",
	"category":            "Waddle has no game or category variable",
	"followage":           "Waddle has no follow-age variable",
	"accountcreationdate": "Waddle has no account-age variable",
	"viewtime":            "Waddle has no watch-time variable",
	"chatmessages":        "Waddle has no chat-message count variable",
	"randomviewer":        "Waddle has no random-viewer variable",
	"topcurrency":         "Waddle has no leaderboard variable",
	"topcurrencyuser":     "Waddle has no leaderboard variable",
	"if":                  "a condition; Waddle replies have no conditions",
	"math":                "arithmetic; Waddle replies have no arithmetic",
	"customvariable":      "a custom variable; Waddle has no equivalent",
	"streamtitle":         "Waddle has no stream-title variable",
	"argcount":            "Waddle has no argument-count variable",
	"userid":              "Waddle has no user-id variable",
	"useravatarurl":       "Waddle has no avatar variable",
}

// firebotVar translates one variable: the Waddle text, or why it stays as
// written.
func firebotVar(name string, args []string, hasArgs bool) (string, string) {
	lname := strings.ToLower(name)
	nested := false
	for _, a := range args {
		if strings.Contains(a, "$") {
			nested = true
		}
	}
	switch lname {
	case "user", "username", "userdisplayname":
		if !hasArgs {
			return "{user}", ""
		}
	case "target":
		if !hasArgs {
			return "{touser}", ""
		}
	case "streamer":
		if !hasArgs {
			return "{channel}", ""
		}
	case "count":
		if !hasArgs {
			return "{count}", ""
		}
	case "args":
		if !hasArgs {
			return "{args}", ""
		}
	case "arg":
		if nested {
			return "", "an argument chosen by another variable; Waddle cannot"
		}
		return fbArgVar(args, hasArgs)
	case "randomnumber":
		if nested {
			return "", "a random range set by another variable; Waddle's {random:a-b} needs numbers"
		}
		if len(args) == 2 {
			lo, err1 := strconv.ParseInt(args[0], 10, 64)
			hi, err2 := strconv.ParseInt(args[1], 10, 64)
			if err1 == nil && err2 == nil && lo >= 0 && hi >= 0 {
				if lo > hi {
					lo, hi = hi, lo
				}
				return fmt.Sprintf("{random:%d-%d}", lo, hi), ""
			}
		}
		return "", "Waddle's {random:a-b} takes two whole numbers, 0 or more"
	case "counter":
		if nested || len(args) != 1 {
			return "", "Waddle's {getcounter:NAME} takes one counter name"
		}
		n, ok := firebotName(args[0])
		if !ok {
			return "", "the counter's name cannot be a Waddle counter name"
		}
		return "{getcounter:" + n + "}", ""
	case "currency":
		if len(args) == 1 && !nested || len(args) == 2 && fbIsSpeaker(args[1]) {
			return "{points}", ""
		}
		return "", "another viewer's balance; Waddle's {points} is the speaker's"
	}
	if r, ok := firebotReasons[lname]; ok {
		return "", r
	}
	if hasArgs && (lname == "user" || lname == "target" || lname == "streamer" || lname == "count" || lname == "args") {
		return "", "takes arguments Waddle's equivalent does not"
	}
	return "", "Waddle has no equivalent"
}

func fbIsSpeaker(a string) bool {
	a = strings.ToLower(a)
	return a == "$user" || a == "$username"
}

// fbArgVar translates $arg[n], $arg[all] and $arg[1,last].
func fbArgVar(args []string, hasArgs bool) (string, string) {
	if !hasArgs || len(args) == 0 || len(args) > 2 {
		return "", "Waddle's arguments are {1}…{9} and {args}"
	}
	lo := strings.ToLower(args[0])
	if len(args) == 1 {
		if lo == "all" {
			return "{args}", ""
		}
		if n, err := strconv.Atoi(lo); err == nil && n >= 1 && n <= 9 {
			return "{" + lo + "}", ""
		}
		return "", "Waddle's arguments are {1}…{9} and {args}"
	}
	hi := strings.ToLower(args[1])
	if lo == "1" && (hi == "last" || hi == "-1") {
		return "{args}", ""
	}
	if n, err := strconv.Atoi(lo); err == nil && lo == hi && n >= 1 && n <= 9 {
		return "{" + lo + "}", ""
	}
	return "", "a range of arguments; Waddle has {1}…{9} and all of them, {args}"
}
