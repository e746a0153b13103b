package router

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/waddle/waddle/runes"
)

// vars holds what a response template may refer to.
type vars struct {
	ev      Event
	inv     Invocation
	count   func() (int64, bool) // called only when {count} appears
	points  func() (int64, bool) // called only when {points} appears
	channel string
}

// maxReplyLen bounds a rendered reply.
const maxReplyLen = 500

// render fills {variables} in tmpl. An unknown or malformed variable is left as written.
func render(tmpl string, v vars) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(tmpl)
			break
		}
		close := strings.IndexByte(tmpl[open:], '}')
		if close < 0 {
			b.WriteString(tmpl)
			break
		}
		close += open
		b.WriteString(tmpl[:open])
		name := tmpl[open+1 : close]
		if val, ok := v.lookup(name); ok {
			b.WriteString(val)
		} else {
			b.WriteString(tmpl[open : close+1])
		}
		tmpl = tmpl[close+1:]
		if b.Len() > maxReplyLen*2 {
			break
		}
	}
	out := b.String()
	if len(out) > maxReplyLen {
		out = runes.TruncateBytes(out, maxReplyLen)
	}
	return out
}

func (v vars) lookup(name string) (string, bool) {
	switch name {
	case "user":
		return v.ev.User.Shown(), true
	case "touser":
		if len(v.inv.Args) > 0 {
			return strings.TrimPrefix(v.inv.Args[0], "@"), true
		}
		return v.ev.User.Shown(), true
	case "args":
		return v.inv.Raw, true
	case "channel":
		if v.channel != "" {
			return v.channel, true
		}
		return v.ev.Server, true
	case "platform":
		return v.ev.Platform, true
	case "count":
		if v.count != nil {
			if n, ok := v.count(); ok {
				return strconv.FormatInt(n, 10), true
			}
		}
		return "", false
	case "points":
		if v.points != nil {
			if n, ok := v.points(); ok {
				return strconv.FormatInt(n, 10), true
			}
		}
		return "", false
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= maxArgs {
		if n <= len(v.inv.Args) {
			return v.inv.Args[n-1], true
		}
		return "", true
	}
	if spec, ok := strings.CutPrefix(name, "random:"); ok {
		lo, hi, ok := strings.Cut(spec, "-")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if ok && err1 == nil && err2 == nil && a <= b && b-a < 1<<40 {
			return strconv.FormatInt(a+rand.Int64N(b-a+1), 10), true
		}
	}
	return "", false
}
