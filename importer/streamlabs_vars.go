package importer

import (
	"fmt"
	"strconv"
	"strings"
)

// Streamlabs Chatbot writes its parameters as $name or $name(arguments):
// $username, $randnum(1,10), $readapi(https://…). Names are matched
// without regard to case.

// slSimple are the parameters with a direct Waddle equivalent.
var slSimple = map[string]string{
	"user":        "{user}",
	"username":    "{user}",
	"userid":      "{user}",
	"touser":      "{touser}",
	"tousername":  "{touser}",
	"touserid":    "{touser}",
	"target":      "{touser}",
	"targetname":  "{touser}",
	"targetid":    "{touser}",
	"msg":         "{args}",
	"dummyormsg":  "{args}",
	"count":       "{count}",
	"points":      "{points}",
	"mychannel":   "{channel}",
	"channelname": "{channel}",
	"randquote":   "{quote}",
}

// slKept are parameters Waddle has no equivalent for, with why.
var slKept = map[string]string{
	"readapi":          "fetches a URL; Waddle does not fetch URLs in replies",
	"savetofile":       "writes a file on the bot's computer; Waddle has no such files",
	"overwritefile":    "writes a file on the bot's computer; Waddle has no such files",
	"readline":         "reads a file on the bot's computer; Waddle has no such files",
	"readrandline":     "reads a file on the bot's computer; Waddle has no such files",
	"readspecificline": "reads a file on the bot's computer; Waddle has no such files",
	"addpoints":        "changes viewers' points; Waddle replies cannot",
	"removepoints":     "changes viewers' points; Waddle replies cannot",
	"givepoints":       "changes viewers' points; Waddle replies cannot",
	"newbalance":       "shows another viewer's points; Waddle shows only the speaker's ({points})",
	"currencyname":     "names the currency; write the name in the reply",
	"rank":             "Waddle has no ranks",
	"hours":            "Waddle does not show watch time in replies",
	"dummy":            "stopped the reply when the command had no arguments; Waddle always replies",
	"randusername":     "picks a random viewer; Waddle has no such variable",
	"randuserid":       "picks a random viewer; Waddle has no such variable",
	"botname":          "names the bot; write the name in the reply",
	"uptime":           "Waddle does not show the stream's uptime in replies",
	"game":             "Waddle does not show the stream's game in replies",
	"followage":        "Waddle does not show follow age in replies",
	"followdate":       "Waddle does not show follow dates in replies",
	"time":             "Waddle does not show the time in replies",
	"quotes":           "Waddle does not show the number of quotes",
	"desc":             "was a description for Streamlabs' website",
	"math":             "Waddle does not compute in replies",
}

// slTranslate turns a Streamlabs Chatbot reply into Waddle's syntax: what
// has an equivalent is replaced, everything else is kept as written and
// listed in the returned attention entries.
func slTranslate(s string) (string, []string) {
	var b strings.Builder
	var attention []string
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		name, args, n := slParam(s[i:])
		if n == 0 {
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		whole := s[i : i+n]
		s = s[i+n:]
		out, why := slParamTo(strings.ToLower(name), args)
		if why != "" {
			b.WriteString(whole)
			attention = append(attention, fmt.Sprintf("%s: %s", slShown(whole), why))
			continue
		}
		b.WriteString(out)
	}
	return b.String(), bfDedupe(attention)
}

// slParam reads the parameter at the start of s ("$name" or
// "$name(args)"): its name, its arguments (nil when it has no
// parentheses), and how many bytes it takes; 0 when s holds none.
func slParam(s string) (name string, args *string, n int) {
	j := 1
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	if j == 1 {
		return "", nil, 0
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	name = s[1:j]
	if j < len(s) && s[j] == '(' {
		depth := 0
		for k := j; k < len(s); k++ {
			switch s[k] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					a := s[j+1 : k]
					return name, &a, k + 1
				}
			}
		}
	}
	return name, nil, j
}

// slParamTo is a parameter's Waddle equivalent, or why there is none.
func slParamTo(name string, args *string) (string, string) {
	if args == nil {
		if v, ok := slSimple[name]; ok {
			return v, ""
		}
		for _, prefix := range []string{"arg", "num"} {
			if d, ok := strings.CutPrefix(name, prefix); ok && len(d) == 1 && d >= "1" && d <= "9" {
				return "{" + d + "}", ""
			}
		}
		if d, ok := strings.CutPrefix(name, "argl"); ok && len(d) == 1 && d >= "1" && d <= "9" {
			return "", "lower-cased the argument; Waddle's {" + d + "} keeps its case"
		}
	}
	if name == "randnum" && args != nil {
		if lo, hi, ok := slRange(*args); ok {
			return fmt.Sprintf("{random:%d-%d}", lo, hi), ""
		}
		return "", "Waddle's {random:a-b} takes two whole numbers from 0 up, the smaller first"
	}
	if why, ok := slKept[name]; ok {
		return "", why
	}
	if v, ok := slSimple[name]; ok && args != nil {
		return "", "takes arguments here; Waddle's " + v + " takes none"
	}
	return "", "Waddle has no equivalent"
}

// slRange reads "a,b" as a range of whole numbers, 0 ≤ a ≤ b.
func slRange(args string) (int64, int64, bool) {
	a, b, ok := strings.Cut(args, ",")
	if !ok {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	hi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if err1 != nil || err2 != nil || lo < 0 || hi < lo || hi > 1_000_000_000 {
		return 0, 0, false
	}
	return lo, hi, true
}

// slShown is a parameter as the attention entry names it, shortened.
func slShown(whole string) string {
	if len(whole) <= 40 {
		return whole
	}
	name, _, _ := slParam(whole)
	return "$" + name + "(…)"
}
