package importer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/router"
)

// nightbotKept says why a Nightbot variable with no Waddle equivalent is
// kept as written (docs.nightbot.tv/variables).
var nightbotKept = map[string]string{
	"urlfetch":    "Waddle does not fetch URLs in replies",
	"customapi":   "Waddle does not fetch URLs in replies",
	"eval":        "Waddle does not run code in replies",
	"time":        "Waddle has no clock or time zones in replies",
	"countdown":   "Waddle has no countdown variable",
	"countup":     "Waddle has no count-up variable",
	"uptime":      "Waddle has no stream uptime variable",
	"game":        "Waddle has no stream game variable",
	"title":       "Waddle has no stream title variable",
	"twitch":      "Waddle does not look up Twitch channel facts in replies",
	"followage":   "Waddle has no follow-age variable",
	"querystring": "Waddle has no URL-encoded arguments variable",
	"userlevel":   "Waddle has no user-level variable",
	"userid":      "Waddle has no user id variable",
	"weather":     "Waddle has no weather variable",
	"pastebin":    "Waddle does not fetch URLs in replies",
	"quote":       "Nightbot's quote variable reads a URL; Waddle has no equivalent",
	"arg":         "Waddle numbers arguments {1}…{9} only",
}

// translateNightbot rewrites Nightbot's $(…) variables to Waddle's; what
// has no equivalent is kept as written, with the reason.
func translateNightbot(s string) (string, []string) {
	return apiTranslate(s, "$(", ')', nightbotVar)
}

func nightbotVar(inner string) (string, bool, string) {
	name, rest := apiVarName(inner)
	shown := apiShown("$(", ")", name, rest)
	if strings.Contains(inner, "$(") {
		return "", false, shown + ": it has another variable inside; kept as written"
	}
	switch name {
	case "user":
		if rest == "" {
			return "{user}", true, ""
		}
	case "touser":
		if rest == "" {
			return "{touser}", true, ""
		}
	case "query":
		if rest == "" {
			return "{args}", true, ""
		}
	case "count":
		if rest == "" {
			return "{count}", true, ""
		}
	case "channel":
		if rest == "" {
			return "{channel}", true, ""
		}
	case "provider":
		if rest == "" {
			return "{platform}", true, ""
		}
	case "1", "2", "3", "4", "5", "6", "7", "8", "9":
		if rest == "" {
			return "{" + name + "}", true, ""
		}
	case "randomnum", "rand":
		if lo, hi, ok := apiRange(rest); ok {
			return fmt.Sprintf("{random:%d-%d}", lo, hi), true, ""
		}
		return "", false, shown + ": Waddle's {random:a-b} takes two whole numbers from 0 up, the smaller first"
	}
	if why, ok := nightbotKept[name]; ok {
		return "", false, shown + ": " + why
	}
	return "", false, shown + ": Waddle has no equivalent"
}

// apiRange reads "a b", "a-b" or "a,b" as a range Waddle's {random:a-b}
// takes.
func apiRange(s string) (int64, int64, bool) {
	s = strings.TrimSpace(s)
	var f []string
	if strings.ContainsAny(s, " ,") {
		f = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	} else {
		f = strings.Split(s, "-")
	}
	if len(f) != 2 {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(f[0], 10, 64)
	b, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a || b-a >= 1<<40 || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[1], "+") {
		return 0, 0, false
	}
	return a, b, true
}

// nightbotLevel maps Nightbot's userLevel to Waddle's permission.
//
//	everyone   → everyone
//	subscriber → subscriber
//	regular    → vip (Waddle has no regulars: VIPs and above may use it)
//	twitch_vip → vip
//	moderator  → moderator
//	owner      → broadcaster
//	admin      → broadcaster
//	other      → moderator (unknown: the stricter side)
func nightbotLevel(level string) (perm string, attention string) {
	switch strings.ToLower(level) {
	case "", "everyone":
		return router.Everyone, ""
	case "subscriber":
		return router.Subscriber, ""
	case "regular":
		return router.VIP, "Nightbot's regular level: Waddle has no regulars list, so VIPs and above may use it"
	case "twitch_vip", "vip":
		return router.VIP, ""
	case "moderator":
		return router.Moderator, ""
	case "owner", "admin":
		return router.Broadcaster, ""
	}
	return router.Moderator, fmt.Sprintf("Nightbot's user level %q is unknown; moderators and above may use it", level)
}

// nightbotInterval reads a Nightbot timer's cron interval as minutes
// between posts. exact false means the interval is the nearest Waddle can
// do and why says so.
func nightbotInterval(cron string) (minutes int, why string) {
	f := strings.Fields(cron)
	if len(f) != 5 {
		return 15, fmt.Sprintf("the interval %q is not a cron line; set to every 15 minutes", cron)
	}
	minute, hour := f[0], f[1]
	if f[2] != "*" || f[3] != "*" || f[4] != "*" {
		why = fmt.Sprintf("the interval %q runs on some days only; Waddle posts every day", cron)
	}
	clamp := func(n int) int { return min(max(n, 1), 1440) }
	note := func(n int, exact bool) (int, string) {
		if !exact && why == "" {
			why = fmt.Sprintf("the interval %q is not evenly spaced; set to every %d minutes, the nearest", cron, clamp(n))
		}
		return clamp(n), why
	}
	perHour, evenM := nbCronCount(minute, 60)
	if perHour == 0 {
		return 15, fmt.Sprintf("the interval %q cannot be read; set to every 15 minutes", cron)
	}
	switch {
	case hour == "*":
		return note((60+perHour/2)/perHour, evenM && 60%perHour == 0)
	case perHour == 1:
		perDay, evenH := nbCronCount(hour, 24)
		if perDay == 0 {
			return 15, fmt.Sprintf("the interval %q cannot be read; set to every 15 minutes", cron)
		}
		return note((1440+perDay/2)/perDay, evenH && 24%perDay == 0)
	}
	perDay, _ := nbCronCount(hour, 24)
	if perDay == 0 {
		return 15, fmt.Sprintf("the interval %q cannot be read; set to every 15 minutes", cron)
	}
	return note(1440/(perDay*perHour), false)
}

// nbCronCount counts the values one cron field matches in 0..n-1, and
// whether they are evenly spaced (a step or a single value). 0 when the
// field cannot be read.
func nbCronCount(field string, n int) (int, bool) {
	if field == "*" {
		return n, true
	}
	if step, ok := strings.CutPrefix(field, "*/"); ok {
		s, err := strconv.Atoi(step)
		if err != nil || s < 1 || s > n {
			return 0, false
		}
		return (n + s - 1) / s, n%s == 0
	}
	seen := map[int]bool{}
	for part := range strings.SplitSeq(field, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a >= n {
			return 0, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b >= n {
				return 0, false
			}
		}
		for v := a; v <= b; v++ {
			seen[v] = true
		}
	}
	if len(seen) == 1 {
		return 1, true
	}
	gap := n / len(seen)
	even := n%len(seen) == 0
	first := -1
	for v := range n {
		if seen[v] {
			if first < 0 {
				first = v
			}
			even = even && seen[first+((v-first)/gap)*gap] && (v-first)%gap == 0
		}
	}
	return len(seen), even
}
