package router

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Rule match kinds.
const (
	MatchExact    = "exact"
	MatchContains = "contains"
	MatchWord     = "word"
	MatchGlob     = "glob"
	MatchRegex    = "regex"
)

// Rule is a moderation rule or auto-response.
type Rule struct {
	ID                int64
	Priority          int
	Match             string
	Pattern           string
	Action            string // reply, warn, delete, timeout, ban
	Response          string
	TimeoutSeconds    int
	ExemptModerators  bool
	ExemptSubscribers bool
	Enabled           bool
}

func toRule(r db.ModerationRule) Rule {
	return Rule{ID: r.ID, Priority: int(r.Priority), Match: r.MatchKind, Pattern: r.Pattern, Action: r.Action, Response: r.Response,
		TimeoutSeconds: int(r.TimeoutSeconds), ExemptModerators: r.ExemptModerators, ExemptSubscribers: r.ExemptSubscribers, Enabled: r.Enabled}
}

// rule is a Rule compiled once for matching.
type rule struct {
	Rule
	lower string
	re    *regexp.Regexp
}

// maxRegexLen bounds a rule's pattern; RE2 runs in linear time, and the size
// limit keeps compiled programs small.
const maxRegexLen = 300

func compileRule(r Rule) (*rule, error) {
	c := &rule{Rule: r, lower: strings.ToLower(r.Pattern)}
	switch r.Match {
	case MatchExact, MatchContains, MatchWord:
	case MatchGlob:
		if _, err := path.Match(c.lower, ""); err != nil {
			return nil, problem.Invalidf("pattern", "The glob pattern is malformed: %v.", err)
		}
	case MatchRegex:
		if len(r.Pattern) > maxRegexLen {
			return nil, problem.Invalidf("pattern", "A regular expression has at most %d characters.", maxRegexLen)
		}
		re, err := regexp.Compile("(?i)" + r.Pattern)
		if err != nil {
			return nil, problem.Invalidf("pattern", "The regular expression does not compile: %v.", err)
		}
		c.re = re
	default:
		return nil, problem.Invalidf("match", "Choose how to match: exact, contains, word, glob or regex.")
	}
	return c, nil
}

func (c *rule) matches(text string) bool {
	lower := strings.ToLower(text)
	switch c.Match {
	case MatchExact:
		return lower == c.lower
	case MatchContains:
		return strings.Contains(lower, c.lower)
	case MatchWord:
		for _, w := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
			if w == c.lower {
				return true
			}
		}
		return strings.Contains(c.lower, " ") && containsPhrase(lower, c.lower)
	case MatchGlob:
		ok, _ := path.Match(c.lower, lower)
		return ok
	case MatchRegex:
		return c.re.MatchString(text)
	}
	return false
}

// containsPhrase finds a multi-word pattern on word boundaries.
func containsPhrase(text, phrase string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], phrase)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordRune(rune(text[j-1]))
		end := j + len(phrase)
		after := end == len(text) || !isWordRune(rune(text[end]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// moderate checks a chat message against the rules in priority order; the
// first match acts. stop reports that the message must go no further.
func (h *handling) moderate(ctx context.Context) (stop bool, err error) {
	if h.ev.Text == "" {
		return false, nil
	}
	for _, rl := range h.s.rules {
		if rl.ExemptModerators && permRank(level(h.ev.User)) >= permRank(Moderator) {
			continue
		}
		if rl.ExemptSubscribers && h.ev.User.Has(BadgeSubscriber) {
			continue
		}
		if !rl.matches(h.ev.Text) {
			continue
		}
		h.res.HandledBy = fmt.Sprintf("rule %d (%s %q)", rl.ID, rl.Match, runes.TruncateBytes(rl.Pattern, 40))
		resp := Response{}
		if rl.Response != "" {
			resp.Reply, resp.Parts = renderParts(rl.Response, vars{ev: h.ev, channel: h.ev.Channel})
		}
		switch rl.Action {
		case ActionReply:
			h.res.Responses = append(h.res.Responses, resp)
			return false, nil // an auto-response lets the message go on
		case ActionWarn:
			resp.Moderation = &Moderation{Action: ActionWarn, Reason: rl.Response}
		case ActionDelete:
			resp.Moderation = &Moderation{Action: ActionDelete, Reason: "matched a moderation rule"}
		case ActionTimeout:
			resp.Moderation = &Moderation{Action: ActionTimeout, Seconds: rl.TimeoutSeconds, Reason: "matched a moderation rule"}
		case ActionBan:
			resp.Moderation = &Moderation{Action: ActionBan, Reason: "matched a moderation rule"}
		}
		h.res.Responses = append(h.res.Responses, resp)
		reason := h.res.HandledBy
		if resp.Reply != "" {
			reason += ": " + resp.Reply
		}
		return true, h.repute(ctx, *resp.Moderation, reason)
	}
	return false, nil
}

// RuleInput is a rule as a user writes it.
type RuleInput = Rule

// ruleState is a moderation rule as the audit log records it.
type ruleState struct {
	Priority          int32  `json:"priority"`
	Match             string `json:"match"`
	Pattern           string `json:"pattern"`
	Action            string `json:"action"`
	Response          string `json:"response"`
	TimeoutSeconds    int32  `json:"timeout_seconds"`
	ExemptModerators  bool   `json:"exempt_moderators"`
	ExemptSubscribers bool   `json:"exempt_subscribers"`
	Enabled           bool   `json:"enabled"`
}

func ruleStateOf(r db.ModerationRule) ruleState {
	return ruleState{Priority: r.Priority, Match: r.MatchKind, Pattern: r.Pattern, Action: r.Action, Response: r.Response,
		TimeoutSeconds: r.TimeoutSeconds, ExemptModerators: r.ExemptModerators, ExemptSubscribers: r.ExemptSubscribers, Enabled: r.Enabled}
}

// ruleTarget names a rule in the audit log: rule 7 (contains "spam").
func ruleTarget(r db.ModerationRule) string {
	return fmt.Sprintf("rule %d (%s %q)", r.ID, r.MatchKind, runes.TruncateBytes(r.Pattern, 40))
}
