package importer

import (
	"context"
	"fmt"
	"slices"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/router"
)

// Preview is what applying an import would do to its community, read
// without writing anything.
type Preview struct {
	Import   Import
	Summary  []CategorySummary // one per category, in the order shown
	Commands []CommandPreview
	Timers   []TimerPreview
	Quotes   QuotesPreview
	Counters []CounterPreview
	Filters  []Filter
	Skipped  []Skipped // what cannot be imported, with why
	Regulars []string
	Notes    []string
	// TimerTarget is where imported timers will post ("twitch channel
	// duckchan"); empty when no channel is linked (they are created
	// disabled).
	TimerTarget string
	Points      PointsPreview
}

// CategorySummary counts one category of a preview.
type CategorySummary struct {
	Category  string // commands, timers, quotes, counters, filters, points
	Create    int    // created as they are
	Adapted   int    // created with a translation or something to look at
	Conflicts int    // clash with what the community has
	Skipped   int    // cannot be imported
}

// CommandPreview is one command: Original and Response side by side.
type CommandPreview struct {
	Command
	Adapted bool
	// Conflicts says what each clashing name is now ("!hello is already a
	// command"); empty when none clashes.
	Conflicts []string
	// CanOverwrite: the name is a plain command of the community, which
	// overwrite replaces (undo restores it). Otherwise overwrite renames.
	CanOverwrite bool
}

// TimerPreview is one timer; a timer whose name is taken is created with
// a suffix.
type TimerPreview struct {
	Timer
	Adapted  bool
	Conflict bool
}

// CounterPreview is one counter; a counter whose name is taken keeps the
// community's value and is not imported.
type CounterPreview struct {
	Counter
	Conflict bool
}

// QuotesPreview is how quotes are numbered: a source number after the
// community's last is kept, the others follow.
type QuotesPreview struct {
	Count      int
	Renumbered int
	LastNow    int // the community's last number before the import
	First      int // the lowest number the import gives (0: none)
	Last       int
}

// PointsPreview counts the viewers' balances.
type PointsPreview struct {
	Viewers    int
	Resolved   int // matched to a platform account
	Unresolved int // kept under the login until it chats or links (pending)
	Points     int64
	Seconds    int64
	Currencies []CurrencyTotal // with several, the manager picks one
	// AskCurrency: the source had several currencies; Apply needs
	// Choices.Currency.
	AskCurrency bool
}

// CurrencyTotal is one currency's balances.
type CurrencyTotal struct {
	Currency string
	Viewers  int
	Resolved int
	Points   int64
}

// Preview compares the import with its community. Nothing is written.
func (s *Service) Preview(ctx context.Context, communityID, id int64) (Preview, error) {
	im, err := s.Get(ctx, communityID, id)
	if err != nil {
		return Preview{}, err
	}
	b := &im.Bundle
	q := db.New(s.pool)
	p := Preview{Import: im, Filters: b.Filters, Skipped: b.Skipped, Regulars: b.Regulars, Notes: b.Notes}
	clashes, err := s.clashes(ctx, q, communityID, b.Commands)
	if err != nil {
		return Preview{}, err
	}
	sum := CategorySummary{Category: "commands"}
	for _, c := range b.Commands {
		cp := CommandPreview{Command: c, Adapted: adapted(c.Original, c.Response, c.Attention)}
		for _, cl := range clashes[c.Name] {
			cp.Conflicts = append(cp.Conflicts, cl.text)
			cp.CanOverwrite = cp.CanOverwrite || cl.overwritable
		}
		count(&sum, cp.Adapted, len(cp.Conflicts) > 0)
		p.Commands = append(p.Commands, cp)
	}
	sum.Skipped = skippedIn(b.Skipped, "command")
	p.Summary = append(p.Summary, sum)

	names := make([]string, len(b.Timers))
	for i, t := range b.Timers {
		names[i] = t.Name
	}
	taken, err := q.ImportTimerNames(ctx, db.ImportTimerNamesParams{CommunityID: communityID, Names: names})
	if err != nil {
		return Preview{}, fmt.Errorf("preview timers: %w", err)
	}
	sum = CategorySummary{Category: "timers", Skipped: skippedIn(b.Skipped, "timer")}
	for _, t := range b.Timers {
		tp := TimerPreview{Timer: t, Adapted: adapted(t.Original, t.Message, t.Attention), Conflict: slices.Contains(taken, t.Name)}
		count(&sum, tp.Adapted, tp.Conflict)
		p.Timers = append(p.Timers, tp)
	}
	p.Summary = append(p.Summary, sum)
	if len(b.Timers) > 0 {
		if t, err := q.ImportTimerTarget(ctx, communityID); err == nil {
			p.TimerTarget = fmt.Sprintf("%s channel %s", t.Platform, cmpOr(t.Name, t.Server))
		}
	}

	last, err := q.ImportQuoteLastNumber(ctx, communityID)
	if err != nil {
		return Preview{}, fmt.Errorf("preview quotes: %w", err)
	}
	nums := numberQuotes(b.Quotes, int(last))
	p.Quotes = QuotesPreview{Count: len(b.Quotes), LastNow: int(last)}
	for i, n := range nums {
		if n != b.Quotes[i].Number {
			p.Quotes.Renumbered++
		}
		if p.Quotes.First == 0 || n < p.Quotes.First {
			p.Quotes.First = n
		}
		p.Quotes.Last = max(p.Quotes.Last, n)
	}
	p.Summary = append(p.Summary, CategorySummary{Category: "quotes", Create: len(b.Quotes), Skipped: skippedIn(b.Skipped, "quote")})

	names = names[:0]
	for _, c := range b.Counters {
		names = append(names, c.Name)
	}
	taken, err = q.ImportCounterNames(ctx, db.ImportCounterNamesParams{CommunityID: communityID, Names: names})
	if err != nil {
		return Preview{}, fmt.Errorf("preview counters: %w", err)
	}
	sum = CategorySummary{Category: "counters", Skipped: skippedIn(b.Skipped, "counter")}
	for _, c := range b.Counters {
		cp := CounterPreview{Counter: c, Conflict: slices.Contains(taken, c.Name)}
		count(&sum, false, cp.Conflict)
		p.Counters = append(p.Counters, cp)
	}
	p.Summary = append(p.Summary, sum)
	p.Summary = append(p.Summary, CategorySummary{Category: "filters", Create: len(b.Filters), Skipped: skippedIn(b.Skipped, "filter")})

	if p.Points, err = s.pointsPreview(ctx, q, im); err != nil {
		return Preview{}, err
	}
	p.Summary = append(p.Summary, CategorySummary{Category: "points", Create: p.Points.Resolved, Adapted: p.Points.Unresolved,
		Skipped: skippedIn(b.Skipped, "points")})
	return p, nil
}

func (s *Service) pointsPreview(ctx context.Context, q *db.Queries, im Import) (PointsPreview, error) {
	rows, err := q.ImportPointsSummary(ctx, db.ImportPointsSummaryParams{ImportID: im.ID, CommunityID: im.CommunityID})
	if err != nil {
		return PointsPreview{}, fmt.Errorf("preview balances: %w", err)
	}
	var pp PointsPreview
	for _, r := range rows {
		pp.Viewers += int(r.Viewers)
		pp.Resolved += int(r.Resolved)
		pp.Points += r.Points
		pp.Seconds += r.Seconds
		pp.Currencies = append(pp.Currencies, CurrencyTotal{Currency: r.Currency, Viewers: int(r.Viewers), Resolved: int(r.Resolved), Points: r.Points})
	}
	pp.Unresolved = pp.Viewers - pp.Resolved
	pp.AskCurrency = len(im.Bundle.Currencies) > 1
	return pp, nil
}

func count(sum *CategorySummary, adapted, conflict bool) {
	switch {
	case conflict:
		sum.Conflicts++
	case adapted:
		sum.Adapted++
	default:
		sum.Create++
	}
}

func adapted(original, now string, attention []string) bool {
	return len(attention) > 0 || (original != "" && original != now)
}

func skippedIn(sk []Skipped, category string) int {
	n := 0
	for _, s := range sk {
		if s.Category == category {
			n++
		}
	}
	return n
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clash is one name of an imported command the community already uses.
type clash struct {
	name         string
	text         string
	overwritable bool // the command's own name is a plain command
}

// clashes finds, for each command, its names (name and aliases) the
// community already uses, or keeps for built-in commands.
func (s *Service) clashes(ctx context.Context, q *db.Queries, communityID int64, cmds []Command) (map[string][]clash, error) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
		names = append(names, c.Aliases...)
	}
	rows, err := q.ImportNameHolders(ctx, db.ImportNameHoldersParams{CommunityID: communityID, Names: names})
	if err != nil {
		return nil, fmt.Errorf("look up command names: %w", err)
	}
	held := map[string]db.ImportNameHoldersRow{}
	for _, r := range rows {
		held[r.Name] = r
	}
	out := map[string][]clash{}
	for _, c := range cmds {
		for i, n := range append([]string{c.Name}, c.Aliases...) {
			var cl clash
			h, ok := held[n]
			switch {
			case s.builtin(n):
				cl = clash{name: n, text: fmt.Sprintf("!%s is a built-in command", n)}
			case !ok:
				continue
			case h.Kind == "command" && h.Managed:
				cl = clash{name: n, text: fmt.Sprintf("!%s is already a command, kept by a workflow or an installed module", n)}
			case h.Kind == "command":
				cl = clash{name: n, text: fmt.Sprintf("!%s is already a command", n), overwritable: i == 0}
			default:
				cl = clash{name: n, text: fmt.Sprintf("!%s is already an alias of !%s", n, h.Owner)}
			}
			out[c.Name] = append(out[c.Name], cl)
		}
	}
	return out, nil
}

func (s *Service) builtin(name string) bool {
	if router.Reserved(name) {
		return true
	}
	return s.commands != nil && s.commands.BuiltinName(name)
}

// numberQuotes gives each quote its number: the source's when it comes
// after the community's last and no earlier quote of the import has it,
// else the next after all of those.
func numberQuotes(quotes []Quote, last int) []int {
	nums := make([]int, len(quotes))
	used := map[int]bool{}
	top := last
	for i, q := range quotes {
		if q.Number > last && !used[q.Number] {
			nums[i] = q.Number
			used[q.Number] = true
			top = max(top, q.Number)
		}
	}
	for i := range quotes {
		if nums[i] == 0 {
			top++
			nums[i] = top
		}
	}
	return nums
}
