package importer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/waddle/waddle/router"
)

// seKept says why a StreamElements variable with no Waddle equivalent is
// kept as written.
var seKept = map[string]string{
	"customapi":        "Waddle does not fetch URLs in replies",
	"urlfetch":         "Waddle does not fetch URLs in replies",
	"time":             "Waddle has no clock or time zones in replies",
	"uptime":           "Waddle has no stream uptime variable",
	"game":             "Waddle has no stream game variable",
	"title":            "Waddle has no stream title variable",
	"followage":        "Waddle has no follow-age variable",
	"random.pick":      "Waddle has no random pick from a list",
	"random.chatter":   "Waddle has no random chatter variable",
	"random.emote":     "Waddle has no random emote variable",
	"pointsname":       "Waddle has no points-name variable",
	"user.points_rank": "Waddle has no points rank variable",
	"user.time_online": "Waddle has no time-watched variable",
	"user.lastseen":    "Waddle has no last-seen variable",
	"user.lastactive":  "Waddle has no last-active variable",
	"user.level":       "Waddle has no user-level variable",
	"math":             "Waddle does not compute in replies",
	"repeat":           "Waddle has no repeat variable",
	"queue":            "Waddle has no queue variable",
	"leaderboard":      "Waddle has no leaderboard variable",
	"ai":               "Waddle does not call AI in replies",
	"weather":          "Waddle has no weather variable",
	"count":            "it names no counter Waddle can use",
	"getcount":         "it names no counter Waddle can use",
}

// translateSE rewrites StreamElements' ${…} variables to Waddle's; what
// has no equivalent is kept as written, with the reason.
func translateSE(s string) (string, []string) {
	return apiTranslate(s, "${", '}', seVar)
}

var seRandomRange = regexp.MustCompile(`^random\.(\d+)-(\d+)$`)

func seVar(inner string) (string, bool, string) {
	name, rest := apiVarName(inner)
	shown := apiShown("${", "}", name, rest)
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(inner)), " ", "") {
	case "1|${user}", "1|${sender}", "1|${user.name}":
		return "{touser}", true, ""
	}
	if strings.Contains(inner, "${") {
		return "", false, shown + ": it has another variable inside; kept as written"
	}
	if strings.Contains(name, "|") {
		return "", false, shown + ": Waddle has no fallback values in variables"
	}
	if rest == "" {
		switch name {
		case "user", "user.name", "sender", "source":
			return "{user}", true, ""
		case "touser":
			return "{touser}", true, ""
		case "channel":
			return "{channel}", true, ""
		case "quote":
			return "{quote}", true, ""
		case "user.points", "points":
			return "{points}", true, ""
		case "1:", "0:":
			return "{args}", true, ""
		case "1", "2", "3", "4", "5", "6", "7", "8", "9":
			return "{" + name + "}", true, ""
		}
		if m := seRandomRange.FindStringSubmatch(name); m != nil {
			if lo, hi, ok := apiRange(m[1] + " " + m[2]); ok {
				return fmt.Sprintf("{random:%d-%d}", lo, hi), true, ""
			}
		}
	}
	switch name {
	case "count", "getcount":
		f := strings.Fields(rest)
		if len(f) == 1 {
			if c, ok := apiCounterName(f[0]); ok {
				if name == "count" {
					return "{counter:" + c + "}", true, ""
				}
				return "{getcounter:" + c + "}", true, ""
			}
			return "", false, shown + fmt.Sprintf(": the counter name %q cannot be a Waddle counter name", f[0])
		}
		if name == "count" && len(f) == 2 {
			return "", false, shown + ": it sets or changes the counter by a number; Waddle's {counter:…} only adds one"
		}
	}
	if why, ok := seKept[name]; ok {
		return "", false, shown + ": " + why
	}
	return "", false, shown + ": Waddle has no equivalent"
}

// seCounterRefs lists the counters a reply names with ${count NAME} or
// ${getcount NAME}, as the source spells them.
var seCounterRef = regexp.MustCompile(`\$\{\s*(?:count|getcount)\s+([^\s{}$]+)`)

func seCounterRefs(s string) []string {
	var out []string
	for _, m := range seCounterRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// seLevel maps StreamElements' numeric access level to Waddle's
// permission, by range:
//
//	  0–249  everyone (100 is Everyone)
//	250–299  subscriber (250)
//	300–399  vip (300 is Regular: Waddle has no regulars list)
//	400–499  vip (400)
//	500–999  moderator (500)
//	1000+    broadcaster (1000 Super Moderator, 1500 Broadcaster)
func seLevel(level int) (perm string, attention string) {
	switch {
	case level < 250:
		return router.Everyone, ""
	case level < 300:
		return router.Subscriber, ""
	case level < 400:
		return router.VIP, "StreamElements' regular level (300): Waddle has no regulars list, so VIPs and above may use it"
	case level < 500:
		return router.VIP, ""
	case level < 1000:
		return router.Moderator, ""
	case level < 1500:
		return router.Broadcaster, "StreamElements' super moderator level (1000): Waddle has none, so only the broadcaster may use it"
	}
	return router.Broadcaster, ""
}

// seLevelName is how the preview shows the source's level.
func seLevelName(level int) string {
	names := map[int]string{100: "everyone", 250: "subscriber", 300: "regular", 400: "vip", 500: "moderator", 1000: "super moderator", 1500: "broadcaster"}
	if n, ok := names[level]; ok {
		return strconv.Itoa(level) + " (" + n + ")"
	}
	return strconv.Itoa(level)
}
