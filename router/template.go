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
	// Named counters and quotes (see counters.go), called only when their
	// variable appears; nil leaves the variable as written.
	counter    func(name string) (int64, bool) // {counter:NAME}: add one, the new value
	getCounter func(name string) (int64, bool) // {getcounter:NAME}: the value
	quote      func() (string, bool)           // {quote}: "#N: text" of a random quote
}

// maxReplyLen bounds a rendered reply.
const maxReplyLen = 500

// render fills {variables} in tmpl. An unknown or malformed variable is left as written.
func render(tmpl string, v vars) string {
	out, _ := renderParts(tmpl, v)
	return out
}

// renderParts is render that also returns the reply cut into parts, each
// marked whether it is template text (what the manager wrote, an unknown
// variable left as written included) or a variable's value: a platform
// whose replies are markup escapes the values (see Response.Parts).
// The parts, joined, are the reply.
func renderParts(tmpl string, v vars) (string, []ReplyPart) {
	if !strings.Contains(tmpl, "{") {
		if tmpl == "" {
			return "", nil
		}
		return tmpl, []ReplyPart{{Text: tmpl, Template: true}}
	}
	var once reply
	var b strings.Builder
	var parts []ReplyPart
	add := func(s string, template bool) {
		if s == "" {
			return
		}
		b.WriteString(s)
		if n := len(parts); n > 0 && parts[n-1].Template == template {
			parts[n-1].Text += s
			return
		}
		parts = append(parts, ReplyPart{Text: s, Template: template})
	}
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			add(tmpl, true)
			break
		}
		close := strings.IndexByte(tmpl[open:], '}')
		if close < 0 {
			add(tmpl, true)
			break
		}
		close += open
		add(tmpl[:open], true)
		name := tmpl[open+1 : close]
		if val, ok := v.lookup(name, &once); ok {
			add(val, false)
		} else {
			add(tmpl[open:close+1], true)
		}
		tmpl = tmpl[close+1:]
		if b.Len() > maxReplyLen*2 {
			break
		}
	}
	out := b.String()
	if len(out) > maxReplyLen {
		out = runes.TruncateBytes(out, maxReplyLen)
		parts = cutParts(parts, len(out))
	}
	return out, parts
}

// cutParts keeps the first n bytes of parts (n ends on a character boundary).
func cutParts(parts []ReplyPart, n int) []ReplyPart {
	for i, p := range parts {
		if len(p.Text) >= n {
			parts[i].Text = p.Text[:n]
			if n == 0 {
				return parts[:i]
			}
			return parts[:i+1]
		}
		n -= len(p.Text)
	}
	return parts
}

func (v vars) lookup(name string, once *reply) (string, bool) {
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
		if v.count != nil && !once.countDone {
			once.count, once.countOK = v.count()
			once.countDone = true
		}
		if once.countOK {
			return strconv.FormatInt(once.count, 10), true
		}
		return "", false
	case "points":
		if v.points != nil {
			if n, ok := v.points(); ok {
				return strconv.FormatInt(n, 10), true
			}
		}
		return "", false
	case "quote":
		if v.quote != nil && !once.quoteDone {
			once.quote, once.quoteOK = v.quote()
			once.quoteDone = true
		}
		return once.quote, once.quoteOK
	}
	if kind, arg, ok := strings.Cut(name, ":"); ok && (kind == "counter" || kind == "getcounter") {
		return v.namedCounter(kind == "counter", arg, once)
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

// reply holds what a reply has counted, so each counting variable counts
// once per reply: {count} and each {counter:NAME} add one at their first
// appearance and show the same value at the next ones; {getcounter:NAME}
// after {counter:NAME} shows the new value; {quote} is one quote however
// often it appears.
type reply struct {
	countDone bool
	count     int64
	countOK   bool
	quoteDone bool
	quote     string
	quoteOK   bool
	added     map[string]int64 // named counters added to in this reply
	failed    map[string]bool  // named counters whose addition failed
}

// namedCounter is the value of {counter:NAME} (add one) or
// {getcounter:NAME}. The name is lower-cased; an invalid one, or a template
// without counters, leaves the variable as written.
func (v vars) namedCounter(add bool, name string, once *reply) (string, bool) {
	name = strings.ToLower(name)
	if !validName(name) || once.failed[name] {
		return "", false
	}
	if n, ok := once.added[name]; ok {
		return strconv.FormatInt(n, 10), true
	}
	f := v.getCounter
	if add {
		f = v.counter
	}
	if f == nil {
		return "", false
	}
	n, ok := f(name)
	switch {
	case add && ok:
		if once.added == nil {
			once.added = map[string]int64{}
		}
		once.added[name] = n
	case add:
		if once.failed == nil {
			once.failed = map[string]bool{}
		}
		once.failed[name] = true
	}
	if !ok {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}
