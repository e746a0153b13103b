package handlers

import (
	"fmt"
	"strings"
	"time"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/views"
)

// The engine's preview and report, shaped for the pages.

func commandDetail(c importer.Command) string {
	parts := []string{c.Permission}
	if c.SourceLevel != "" && c.SourceLevel != c.Permission {
		parts[0] += " (was " + c.SourceLevel + ")"
	}
	if len(c.Aliases) > 0 {
		parts = append(parts, "aliases !"+strings.Join(c.Aliases, ", !"))
	}
	if c.GlobalCooldown > 0 || c.UserCooldown > 0 {
		parts = append(parts, fmt.Sprintf("cooldown %ds, %ds per viewer", c.GlobalCooldown, c.UserCooldown))
	}
	if c.Count > 0 {
		parts = append(parts, fmt.Sprintf("used %d times", c.Count))
	}
	if !c.Enabled {
		parts = append(parts, "disabled")
	}
	return strings.Join(parts, " · ")
}

func timerDetail(t importer.Timer) string {
	s := fmt.Sprintf("every %d min while live", t.IntervalMinutes)
	if t.OfflineMinutes > 0 {
		s += fmt.Sprintf(", every %d min offline", t.OfflineMinutes)
	}
	if t.MinLines > 0 {
		s += fmt.Sprintf(", after %d chat lines", t.MinLines)
	}
	if !t.Enabled {
		s += " · disabled"
	}
	return s
}

// sortItem puts an item in Create or Adapted: adapted when the reply was
// translated or something in it needs attention.
func sortItem(c *views.ImportCategory, it views.ImportItem, adapted bool) {
	if !adapted {
		it.Original = ""
		c.Create = append(c.Create, it)
		return
	}
	c.Adapted = append(c.Adapted, it)
}

// maxPreviewQuotes is how many quotes the preview lists; the rest are counted.
const maxPreviewQuotes = 500

// previewCategories is the preview's tables.
func previewCategories(p importer.Preview) []views.ImportCategory {
	cats := []views.ImportCategory{{Key: "command", Title: "Commands"}, {Key: "timer", Title: "Timers"}, {Key: "quote", Title: "Quotes"},
		{Key: "counter", Title: "Counters"}, {Key: "filter", Title: "Spam filters"}}
	at := map[string]*views.ImportCategory{}
	for i := range cats {
		at[cats[i].Key] = &cats[i]
	}
	for _, c := range p.Commands {
		it := views.ImportItem{Name: "!" + c.Name, Detail: commandDetail(c.Command), Text: c.Response, Original: c.Original, Attention: c.Attention}
		if len(c.Conflicts) > 0 {
			it.Detail += " · " + strings.Join(c.Conflicts, "; ")
		}
		sortItem(at["command"], it, c.Adapted)
	}
	for _, t := range p.Timers {
		it := views.ImportItem{Name: t.Name, Detail: timerDetail(t.Timer), Text: t.Message, Original: t.Original, Attention: t.Attention}
		if t.Conflict {
			it.Detail += " · the name is taken: created with a suffix"
		}
		sortItem(at["timer"], it, t.Adapted)
	}
	if p.TimerTarget != "" && len(p.Timers) > 0 {
		at["timer"].Note = "Timers will post in the " + p.TimerTarget + "."
	} else if len(p.Timers) > 0 {
		at["timer"].Note = "No channel is linked yet: timers are created disabled. Link a platform, then turn them on."
	}
	quotes := p.Import.Bundle.Quotes
	for _, q := range quotes[:min(len(quotes), maxPreviewQuotes)] {
		var d []string
		if q.Game != "" {
			d = append(d, q.Game)
		}
		if !q.Date.IsZero() {
			d = append(d, q.Date.Format("2 January 2006"))
		}
		if q.AddedBy != "" {
			d = append(d, "added by "+q.AddedBy)
		}
		name := "next number"
		if q.Number > 0 {
			name = fmt.Sprintf("#%d", q.Number)
		}
		at["quote"].Create = append(at["quote"].Create, views.ImportItem{Name: name, Text: q.Text, Detail: strings.Join(d, " · ")})
	}
	if qp := p.Quotes; qp.Count > 0 {
		at["quote"].Note = fmt.Sprintf("Numbered %d to %d.", qp.First, qp.Last)
		if qp.Renumbered > 0 {
			at["quote"].Note += fmt.Sprintf(" %d get a new number, after this community's last quote (#%d).", qp.Renumbered, qp.LastNow)
		}
		if len(quotes) > maxPreviewQuotes {
			at["quote"].Note += fmt.Sprintf(" The first %d are listed.", maxPreviewQuotes)
		}
	}
	for _, c := range p.Counters {
		it := views.ImportItem{Name: c.Name, Text: fmt.Sprint(c.Value)}
		if c.Conflict {
			it.Detail = "this community has a counter of that name: it keeps its value"
		}
		at["counter"].Create = append(at["counter"].Create, it)
	}
	for _, f := range p.Filters {
		at["filter"].Create = append(at["filter"].Create, views.ImportItem{Name: f.Kind, Text: f.Pattern, Detail: "deletes the message"})
	}
	for _, s := range p.Skipped {
		if c, ok := at[s.Category]; ok {
			c.Skipped = append(c.Skipped, views.ImportSkip{Category: s.Category, Name: s.Name, Reason: s.Reason})
		}
	}
	var out []views.ImportCategory
	for _, c := range cats {
		if len(c.Create)+len(c.Adapted)+len(c.Skipped) > 0 {
			if c.Key == "quote" {
				c.Total = p.Quotes.Count
			}
			out = append(out, c)
		}
	}
	return out
}

func otherSkipped(sk []importer.Skipped) []views.ImportSkip {
	var out []views.ImportSkip
	for _, s := range sk {
		switch s.Category {
		case "command", "timer", "quote", "counter", "filter":
		default:
			out = append(out, views.ImportSkip{Category: s.Category, Name: s.Name, Reason: s.Reason})
		}
	}
	return out
}

func previewView(ch views.Chrome, cid int64, p importer.Preview, c importer.Choices, msg string) views.ImportPreviewPage {
	imp := p.Import
	v := views.ImportPreviewPage{Chrome: ch, CommunityID: cid, ID: imp.ID, Source: imp.Source.Title(), State: imp.State,
		Files: importFiles(imp.FileNames), Notes: p.Notes, Regulars: p.Regulars, Categories: previewCategories(p), Skipped: otherSkipped(p.Skipped),
		AllConflicts: c.AllConflicts, CanApply: imp.State == importer.StatePreviewed || imp.State == importer.StateFailed, Error: msg,
		Points: views.ImportPoints{Viewers: p.Points.Viewers, Matched: p.Points.Resolved, Pending: p.Points.Unresolved, Total: p.Points.Points,
			Currency: c.Currency}}
	if v.AllConflicts == "" {
		v.AllConflicts = importer.ConflictSkip
	}
	if p.Points.AskCurrency || len(p.Points.Currencies) > 1 {
		for _, x := range p.Points.Currencies {
			v.Points.Currencies = append(v.Points.Currencies, views.ImportCurrency{Name: x.Currency, Viewers: x.Viewers, Points: x.Points})
		}
	}
	for _, x := range p.Commands {
		if len(x.Conflicts) > 0 {
			v.Conflicts = append(v.Conflicts, views.ImportConflict{Name: x.Name, Existing: strings.Join(x.Conflicts, "; "), Incoming: x.Response,
				Choice: c.Conflicts[x.Name], CanOverwrite: x.CanOverwrite})
		}
	}
	return v
}

func reportCounts(imp importer.Import) []views.ImportCount {
	r := imp.Report
	return []views.ImportCount{{Label: "Commands", N: int64(r.Commands)}, {Label: "Aliases", N: int64(r.Aliases)}, {Label: "Timers", N: int64(r.Timers)},
		{Label: "Quotes", N: int64(r.Quotes)}, {Label: "Counters", N: int64(r.Counters)}, {Label: "Spam filters", N: int64(r.Filters)},
		{Label: "Viewers credited", N: int64(r.PointsCredited)}}
}

func reportView(ch views.Chrome, cid int64, imp importer.Import, now time.Time) views.ImportReportPage {
	r := imp.Report
	v := views.ImportReportPage{Chrome: ch, CommunityID: cid, ID: imp.ID, Source: imp.Source.Title(), State: imp.State,
		StateLabel: importStateLabel(imp.State), Files: importFiles(imp.FileNames), Error: imp.Error, Counts: reportCounts(imp),
		Pending: r.PointsPending, AppliedAt: imp.AppliedAt, Notes: r.Notes}
	if r.PointsRefused > 0 {
		v.Counts = append(v.Counts, views.ImportCount{Label: "Balances refused (beyond ±(2^53 − 1))", N: int64(r.PointsRefused)})
	}
	if r.PointsOther > 0 {
		v.Counts = append(v.Counts, views.ImportCount{Label: "Balances in other currencies", N: int64(r.PointsOther)})
	}
	if imp.State == importer.StateUndone {
		v.Counts = append(v.Counts, views.ImportCount{Label: "Points taken back by the undo", N: r.UndoPoints})
	}
	for _, x := range r.Renamed {
		v.Renamed = append(v.Renamed, "!"+x.From+" → !"+x.To)
	}
	for _, x := range r.TimersRenamed {
		v.Renamed = append(v.Renamed, "timer "+x.From+" → "+x.To)
	}
	for _, x := range r.Skipped {
		v.Skipped = append(v.Skipped, views.ImportSkip{Category: "command", Name: "!" + x, Reason: "a command of that name exists; you chose to skip it"})
	}
	for _, x := range r.DroppedAliases {
		v.Skipped = append(v.Skipped, views.ImportSkip{Category: "alias", Name: "!" + x, Reason: "this community already uses the name"})
	}
	for _, x := range r.CountersKept {
		v.Skipped = append(v.Skipped, views.ImportSkip{Category: "counter", Name: x, Reason: "this community's counter of that name was kept"})
	}
	v.Skipped = append(v.Skipped, otherSkipped(imp.Bundle.Skipped)...)
	if imp.Undoable(now) {
		v.CanUndo, v.UndoUntil = true, imp.AppliedAt.Add(importer.UndoWindow)
	}
	return v
}
