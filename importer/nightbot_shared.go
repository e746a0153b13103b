package importer

// Helpers the two API sources, Nightbot and StreamElements, share: the
// scanner for their $(…) and ${…} variables, command names, cooldowns and
// the attention list.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// apiVarFunc translates one variable's inside (what is between "$(" and
// ")"). ok false keeps the variable as written, and why says the reason
// for the Attention list.
type apiVarFunc func(inner string) (out string, ok bool, why string)

// apiTranslate rewrites every variable opened by open ("$(" or "${") and
// closed by the matching close (')' or '}', nesting counted) through fn.
// A variable with another inside it is kept as written whole (fn sees it
// and decides). An unclosed variable is text. Literal text that Waddle
// would read as one of its own variables is listed in the attention too.
func apiTranslate(s, open string, close byte, fn apiVarFunc) (string, []string) {
	var b strings.Builder
	var attention []string
	for {
		i := strings.Index(s, open)
		if i < 0 {
			attention = append(attention, apiLiteralVars(s)...)
			b.WriteString(s)
			break
		}
		end := apiMatch(s[i+len(open):], open[1], close)
		if end < 0 {
			attention = append(attention, apiLiteralVars(s)...)
			b.WriteString(s)
			break
		}
		attention = append(attention, apiLiteralVars(s[:i])...)
		b.WriteString(s[:i])
		inner := s[i+len(open) : i+len(open)+end]
		whole := s[i : i+len(open)+end+1]
		if out, ok, why := fn(inner); ok {
			b.WriteString(out)
		} else {
			b.WriteString(whole)
			if why != "" {
				attention = append(attention, why)
			}
		}
		s = s[i+len(open)+end+1:]
	}
	return b.String(), apiDedupe(attention)
}

// apiMatch finds the close that ends a variable whose inside starts s,
// counting nested opens; -1 when it never closes.
func apiMatch(s string, openCh, close byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case openCh:
			depth++
		case close:
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// apiWaddleVar matches what router/template.go would render as a variable.
var apiWaddleVar = regexp.MustCompile(`\{(user|touser|args|count|channel|platform|points|quote|[1-9]|random:[0-9]+-[0-9]+|counter:[a-z0-9_]+|getcounter:[a-z0-9_]+)\}`)

// apiLiteralVars names text that was plain in the source but that Waddle
// would replace.
func apiLiteralVars(s string) []string {
	var out []string
	for _, m := range apiWaddleVar.FindAllString(s, 3) {
		out = append(out, fmt.Sprintf("%s was plain text in the source; Waddle reads it as its variable", m))
	}
	return out
}

// apiVarName is the first word of a variable's inside, lower case, and
// the rest.
func apiVarName(inner string) (name, rest string) {
	inner = strings.TrimSpace(inner)
	name, rest, _ = strings.Cut(inner, " ")
	return strings.ToLower(name), strings.TrimSpace(rest)
}

// apiShown is how the attention list names a variable: its name, with "…"
// for its arguments.
func apiShown(open, close, name, rest string) string {
	if rest != "" {
		return open + name + " …" + close
	}
	return open + name + close
}

var apiNameRe = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// apiCommandName makes a source's command name Waddle's: lower case,
// without the "!" prefix. ok false when it cannot be made so.
func apiCommandName(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "!")
	return n, apiNameRe.MatchString(n)
}

// apiCounterName makes a counter name Waddle's, as apiCommandName.
func apiCounterName(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	return n, apiNameRe.MatchString(n)
}

// apiBadName says why a name was skipped.
func apiBadName(name string) string {
	return fmt.Sprintf("the name %q cannot be a Waddle command name (lower-case letters, digits and _, at most %d)", name, MaxNameLen)
}

// apiSeconds clamps a cooldown in seconds to 0..86400.
func apiSeconds(n int64) int {
	return int(min(max(n, 0), 86400))
}

// apiReplyAttention notes a reply longer than Waddle sends.
func apiReplyAttention(reply string) []string {
	if utf8.RuneCountInString(reply) > MaxReplyLen || len(reply) > MaxReplyLen {
		return []string{fmt.Sprintf("the reply is longer than %d bytes; Waddle cuts it when it sends it", MaxReplyLen)}
	}
	return nil
}

func apiDedupe(s []string) []string {
	var out []string
	for _, a := range s {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// apiRegex checks a pattern Waddle will run as a moderation rule (RE2,
// case-insensitive, at most 300 characters); "" when it can.
func apiRegex(pattern string) string {
	if len(pattern) > 300 {
		return "the pattern is longer than the 300 characters Waddle allows"
	}
	if _, err := regexp.Compile("(?i)" + pattern); err != nil {
		return fmt.Sprintf("Waddle's regular expressions (RE2) cannot read it: %v", err)
	}
	return ""
}

// apiTimerName fits a timer's name and suffix to Waddle's 64 characters,
// shortening the name.
func apiTimerName(name, suffix string) string {
	r := []rune(strings.TrimSpace(name))
	room := 64 - utf8.RuneCountInString(suffix)
	if len(r) > room {
		r = append(r[:room-1], '…')
	}
	return string(r) + suffix
}
