package importer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/router"
)

// PhantomBot's custom command tags are written in parentheses: (sender),
// (touser), (1), (# 1,10), (customapi https://…). Parenthesised text that
// is not one of its tags is ordinary text and left alone.

var pbSimple = map[string]string{
	"sender":      "{user}",
	"baresender":  "{user}",
	"@sender":     "@{user},",
	"touser":      "{touser}",
	"pointtouser": "{touser} ->",
	"echo":        "{args}",
	"count":       "{count}",
	"channelname": "{channel}",
	"points":      "{points}",
	"#":           "{random:1-100}",
}

// pbKept are PhantomBot's tags with no Waddle equivalent, with why.
var pbKept = map[string]string{
	"customapi":             "fetches a URL; Waddle does not fetch URLs in replies",
	"customapijson":         "fetches a URL; Waddle does not fetch URLs in replies",
	"readfile":              "reads a file on the bot's computer; Waddle has no such files",
	"readfilerand":          "reads a file on the bot's computer; Waddle has no such files",
	"writefile":             "writes a file on the bot's computer; Waddle has no such files",
	"runcode":               "runs JavaScript; Waddle does not run code in replies",
	"currenttime":           "shows the time in a time zone; Waddle has no time variable",
	"uptime":                "Waddle does not show the stream's uptime in replies",
	"downtime":              "Waddle does not show the stream's downtime in replies",
	"game":                  "Waddle does not show the stream's game in replies",
	"gameinfo":              "Waddle does not show the stream's game in replies",
	"status":                "Waddle does not show the stream's title in replies",
	"titleinfo":             "Waddle does not show the stream's title in replies",
	"playtime":              "Waddle does not show play time in replies",
	"gamesplayed":           "Waddle does not show the games played in replies",
	"followage":             "Waddle does not show follow age in replies",
	"age":                   "Waddle does not show account age in replies",
	"views":                 "Waddle does not show channel statistics in replies",
	"viewers":               "Waddle does not show channel statistics in replies",
	"follows":               "Waddle does not show channel statistics in replies",
	"subscribers":           "Waddle does not show channel statistics in replies",
	"random":                "picks a random viewer; Waddle has no such variable",
	"randomrank":            "picks a random viewer; Waddle has no such variable",
	"senderrank":            "Waddle has no ranks",
	"senderrankonly":        "Waddle has no ranks",
	"pointname":             "names the currency; write the name in the reply",
	"price":                 "Waddle commands have no price",
	"pay":                   "Waddle commands pay no points",
	"alert":                 "plays an alert; Waddle replies cannot",
	"playsound":             "plays a sound; Waddle replies cannot",
	"command":               "runs another command; Waddle replies cannot",
	"commandslist":          "lists commands; Waddle replies cannot",
	"commandcostlist":       "lists command prices; Waddle commands have none",
	"countdown":             "Waddle has no countdown variable",
	"countup":               "Waddle has no count-up variable",
	"code":                  "Waddle has no random-code variable",
	"onlineonly":            "limited the command to live streams; Waddle has no such condition",
	"offlineonly":           "limited the command to offline time; Waddle has no such condition",
	"gameonly":              "limited the command to a game; Waddle has no such condition",
	"useronly":              "limited the command to one viewer; Waddle has no per-viewer permission",
	"adminonlyedit":         "only PhantomBot's admins could edit it",
	"keywordcount":          "counts a keyword; use a named counter",
	"repeat":                "repeats text; Waddle has no such variable",
	"delaysay":              "sends a delayed message; Waddle replies cannot",
	"help":                  "answered differently without arguments; Waddle has no such condition",
	"encodeurl":             "Waddle has no URL-encoding variable",
	"encodeurlparam":        "Waddle has no URL-encoding variable",
	"math":                  "Waddle does not compute in replies",
	"unescape":              "Waddle has no such variable",
	"nl":                    "Waddle replies are one line",
	"lasttip":               "Waddle does not show tips in replies",
	"team_member_followers": "Waddle does not show team statistics",
	"team_members":          "Waddle does not show team statistics",
	"team_name":             "Waddle does not show team statistics",
	"team_url":              "Waddle does not show team statistics",
	"team_random_member":    "Waddle does not show team statistics",
}

// pbTranslate turns a PhantomBot reply into Waddle's syntax.
func pbTranslate(s string) (string, []string) {
	var b strings.Builder
	var attention []string
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		end := pbClose(s[i:])
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		whole := s[i : i+end+1]
		inner := whole[1 : len(whole)-1]
		out, why, isTag := pbTagTo(inner)
		switch {
		case !isTag:
			// Ordinary text: keep the parenthesis, read what is inside.
			b.WriteByte('(')
			s = s[i+1:]
			continue
		case why != "":
			b.WriteString(whole)
			attention = append(attention, fmt.Sprintf("%s: %s", pbShown(whole), why))
		default:
			b.WriteString(out)
		}
		s = s[i+end+1:]
	}
	return b.String(), bfDedupe(attention)
}

// pbClose is the index of the parenthesis closing the one at s[0], or -1.
func pbClose(s string) int {
	depth := 0
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// pbTagTo is a tag's Waddle equivalent, or why there is none; isTag is
// false for parenthesised text that is not a tag.
func pbTagTo(inner string) (out, why string, isTag bool) {
	name, rest := inner, ""
	if i := strings.IndexAny(inner, " =|"); i >= 0 {
		name, rest = inner[:i], inner[i:]
	}
	name = strings.ToLower(name)
	if len(name) == 1 && name >= "1" && name <= "9" {
		if rest == "" {
			return "{" + name + "}", "", true
		}
		if rest[0] == '=' || rest[0] == '|' {
			return "", "gives a default when the argument is missing; Waddle's {" + name + "} has none", true
		}
		return "", "", false
	}
	if name == "#" && rest != "" {
		if lo, hi, ok := slRange(strings.TrimSpace(rest)); ok {
			return fmt.Sprintf("{random:%d-%d}", lo, hi), "", true
		}
		return "", "Waddle's {random:a-b} takes two whole numbers from 0 up, the smaller first", true
	}
	if v, ok := pbSimple[name]; ok {
		if rest == "" {
			return v, "", true
		}
		return "", "takes arguments here; Waddle's " + v + " takes none", true
	}
	if why, ok := pbKept[name]; ok {
		return "", why, true
	}
	return "", "", false
}

func pbShown(whole string) string {
	if len(whole) <= 40 {
		return whole
	}
	name := whole[1:]
	if i := strings.IndexAny(name, " =|)"); i >= 0 {
		name = name[:i]
	}
	return "(" + name + " …)"
}

// pbGroups are PhantomBot's permission groups, by id.
var pbGroups = []string{"Caster", "Administrator", "Moderator", "Subscriber", "Donator", "VIP", "Regular", "Viewer"}

// pbLevel maps a PhantomBot group (its id, or its name in old versions)
// to Waddle's level, with the reason when it is not exact:
//
//	0 Caster         broadcaster
//	1 Administrator  broadcaster (attention: no admin level)
//	2 Moderator      moderator
//	3 Subscriber     subscriber
//	4 Donator        subscriber (attention: no donator level)
//	5 VIP            vip
//	6 Regular        subscriber (attention: no regular level)
//	7 Viewer         everyone
func pbLevel(raw string) (perm, source, why string) {
	raw = strings.TrimSpace(raw)
	id, err := strconv.Atoi(raw)
	if err != nil {
		id = -1
		for i, g := range pbGroups {
			if strings.EqualFold(g, raw) || strings.EqualFold(g+"s", raw) {
				id = i
			}
		}
	}
	if id < 0 || id >= len(pbGroups) {
		return router.Broadcaster, raw, fmt.Sprintf("permission group %q is unknown; only the broadcaster may use it", raw)
	}
	source = fmt.Sprintf("%d %s", id, pbGroups[id])
	switch id {
	case 0:
		return router.Broadcaster, source, ""
	case 1:
		return router.Broadcaster, source, "Administrator: Waddle has no admin level; only the broadcaster may use it"
	case 2:
		return router.Moderator, source, ""
	case 3:
		return router.Subscriber, source, ""
	case 4:
		return router.Subscriber, source, "Donator: Waddle has no donator level; subscribers and above may use it"
	case 5:
		return router.VIP, source, ""
	case 6:
		return router.Subscriber, source, "Regular: Waddle has no regular level; subscribers and above may use it"
	}
	return router.Everyone, source, ""
}

// pbCooldownOf reads a phantombot_cooldown value: the current JSON
// {"globalSec": n, "userSec": n} (-1: not set), the older
// {"seconds": n, "isGlobal": bool}, or a bare number of seconds.
func pbCooldownOf(raw string) (global, user int, ok bool) {
	raw = strings.TrimSpace(raw)
	if n, err := strconv.ParseFloat(raw, 64); err == nil {
		return bfSeconds(int64(n)), 0, true
	}
	var v struct {
		GlobalSec *json.Number `json:"globalSec"`
		UserSec   *json.Number `json:"userSec"`
		Seconds   *json.Number `json:"seconds"`
		IsGlobal  any          `json:"isGlobal"`
	}
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return 0, 0, false
	}
	num := func(n *json.Number) int {
		if n == nil {
			return 0
		}
		f, err := n.Float64()
		if err != nil || f < 0 {
			return 0
		}
		return bfSeconds(int64(f))
	}
	switch {
	case v.GlobalSec != nil || v.UserSec != nil:
		return num(v.GlobalSec), num(v.UserSec), true
	case v.Seconds != nil:
		if fmt.Sprint(v.IsGlobal) == "false" {
			return 0, num(v.Seconds), true
		}
		return num(v.Seconds), 0, true
	}
	return 0, 0, false
}
