package importer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// bundle translates what was read from StreamElements.
func (d seData) bundle() *Bundle {
	b := &Bundle{Source: StreamElements, Commands: []Command{}, Timers: []Timer{}, Quotes: []Quote{}, Counters: []Counter{}, Filters: []Filter{}, Skipped: []Skipped{}}
	d.addCommands(b)
	d.addTimers(b)
	for _, q := range d.quotes {
		text := strings.TrimSpace(q.Text + q.Message + q.Quote)
		if text == "" {
			b.Skipped = append(b.Skipped, Skipped{Category: "quote", Name: string(q.ID), Reason: "the quote has no text"})
			continue
		}
		n, _ := strconv.Atoi(strings.Trim(string(q.ID), `"`))
		by := q.Username
		if by == "" {
			by = q.Creator
		}
		b.Quotes = append(b.Quotes, Quote{Number: max(n, 0), Text: text, Game: q.Game, Date: q.CreatedAt, AddedBy: by})
	}
	names := make([]string, 0, len(d.counters))
	for n := range d.counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c, ok := apiCounterName(n)
		if !ok {
			b.Skipped = append(b.Skipped, Skipped{Category: "counter", Name: n, Reason: fmt.Sprintf("the name %q cannot be a Waddle counter name", n)})
			continue
		}
		b.Counters = append(b.Counters, Counter{Name: c, Value: d.counters[n]})
	}
	if len(d.missing) > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("StreamElements did not know the counters %s that replies use; they start at 0.", strings.Join(d.missing, ", ")))
	}
	for _, g := range d.filters.Banphrases {
		for _, p := range g.Phrases {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if len(b.Filters) >= MaxFilters {
				b.Skipped = append(b.Skipped, Skipped{Category: "filter", Name: p, Reason: fmt.Sprintf("more than %d filters", MaxFilters)})
				continue
			}
			b.Filters = append(b.Filters, Filter{Kind: "word", Pattern: p})
		}
		if g.Enabled != nil && !*g.Enabled && len(g.Phrases) > 0 {
			b.Notes = append(b.Notes, fmt.Sprintf("The banned phrases group %q was off in StreamElements; its phrases are imported as rules all the same.", g.Name))
		}
	}
	for _, u := range d.points.Users {
		b.Points = append(b.Points, Balance{Login: u.Username, Points: min(max(u.Points, -MaxPoints), MaxPoints)})
	}
	if d.dupes > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("%d viewers appeared twice while the leaderboard was read page by page (it moved); each is imported once.", d.dupes))
	}
	return b
}

func (d seData) addCommands(b *Bundle) {
	seen := map[string]bool{}
	for _, c := range d.commands {
		if len(b.Commands) >= MaxCommands {
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command, Reason: fmt.Sprintf("more than %d commands", MaxCommands)})
			continue
		}
		name, ok := apiCommandName(c.Command)
		switch {
		case !ok:
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command, Reason: apiBadName(c.Command)})
			continue
		case seen[name]:
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command, Reason: "another command has the same name or alias"})
			continue
		case strings.TrimSpace(c.Reply) == "":
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command, Reason: "the command has no reply"})
			continue
		}
		seen[name] = true
		resp, att := translateSE(c.Reply)
		perm, why := seLevel(c.AccessLevel)
		if why != "" {
			att = append(att, why)
		}
		aliases := []string{}
		for _, a := range c.Aliases {
			an, ok := apiCommandName(a)
			switch {
			case !ok:
				att = append(att, fmt.Sprintf("the alias %q cannot be a Waddle command name; left out", a))
			case seen[an]:
				att = append(att, fmt.Sprintf("the alias %q is another command's name; left out", a))
			default:
				seen[an] = true
				aliases = append(aliases, an)
			}
		}
		if c.Type == "whisper" {
			att = append(att, "StreamElements whispered the reply; Waddle answers in chat")
		}
		if c.Cost > 0 {
			att = append(att, fmt.Sprintf("it cost %d points in StreamElements; Waddle's commands are free", c.Cost))
		}
		if len(c.Keywords) > 0 || c.Regex != "" {
			att = append(att, "StreamElements also ran it on keywords or a pattern in chat; Waddle runs it only as a command")
		}
		if (c.EnabledOnline != nil && !*c.EnabledOnline) || (c.EnabledOffline != nil && !*c.EnabledOffline) {
			att = append(att, "StreamElements ran it only while live or only while offline; Waddle runs it always")
		}
		att = append(att, apiReplyAttention(resp)...)
		b.Commands = append(b.Commands, Command{
			Name: name, Aliases: aliases, Response: resp, Original: c.Reply, Attention: apiDedupe(att),
			Permission: perm, SourceLevel: seLevelName(c.AccessLevel),
			UserCooldown: apiSeconds(c.Cooldown.User), GlobalCooldown: apiSeconds(c.Cooldown.Global),
			Enabled: c.Enabled == nil || *c.Enabled,
		})
	}
}

// addTimers: a StreamElements timer posts every online.interval minutes
// while live and offline.interval minutes while offline. Waddle's timers
// have one interval and an only-while-live switch. A timer with several
// messages (StreamElements rotates them) becomes one Waddle timer per
// message, each with the interval times the number of messages.
func (d seData) addTimers(b *Bundle) {
	for _, t := range d.timers {
		msgs := t.Messages
		if strings.TrimSpace(t.Message) != "" {
			msgs = append([]string{t.Message}, msgs...)
		}
		var kept []string
		for _, m := range msgs {
			if strings.TrimSpace(m) != "" {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			b.Skipped = append(b.Skipped, Skipped{Category: "timer", Name: t.Name, Reason: "the timer has no message"})
			continue
		}
		var base []string
		live, off := t.Online.Interval, t.Offline.Interval
		interval, offline := live, 0
		enabled := t.Enabled
		switch {
		case t.Online.Enabled && t.Offline.Enabled:
			offline = off
			if off != live {
				base = append(base, fmt.Sprintf("StreamElements posted every %d minutes while live and every %d while offline; Waddle posts every %d minutes either way", live, off, live))
			}
		case t.Offline.Enabled:
			interval, offline = off, off
			base = append(base, "StreamElements posted it only while offline; Waddle posts it while live too")
		case !t.Online.Enabled:
			enabled = false
			base = append(base, "it was set to post neither while live nor while offline; imported switched off")
		}
		name := apiTimerName(t.Name, "")
		if name == "" {
			name = fmt.Sprintf("StreamElements timer %d", len(b.Timers)+1)
		}
		n := len(kept)
		for i, m := range kept {
			if len(b.Timers) >= MaxTimers {
				b.Skipped = append(b.Skipped, Skipped{Category: "timer", Name: name, Reason: fmt.Sprintf("more than %d timers", MaxTimers)})
				break
			}
			msg, att := translateSE(m)
			att = append(append([]string{}, base...), att...)
			att = append(att, apiReplyAttention(msg)...)
			tn, iv, ov := name, interval, offline
			if n > 1 {
				tn = apiTimerName(name, fmt.Sprintf(" (%d of %d)", i+1, n))
				iv, ov = interval*n, offline*n
				att = append(att, fmt.Sprintf("StreamElements rotated %d messages in one timer; Waddle posts each as its own timer, every %d minutes", n, min(max(iv, 1), 1440)))
			}
			b.Timers = append(b.Timers, Timer{
				Name: tn, Message: msg, Original: m, Attention: apiDedupe(att),
				IntervalMinutes: min(max(iv, 1), 1440), OfflineMinutes: min(max(ov, 0), 1440),
				MinLines: min(max(t.ChatLines, 0), 10000), Enabled: enabled,
			})
		}
	}
}
