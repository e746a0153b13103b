package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

var namePattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// Create checks a bundle, matches its viewers to platform accounts, and
// stores it as an import to preview. Nothing in the community changes.
func (s *Service) Create(ctx context.Context, by audit.Actor, communityID int64, b *Bundle, fileNames []string) (Import, error) {
	if err := normalize(b); err != nil {
		return Import{}, err
	}
	points := b.Points
	ids, err := s.resolve(ctx, points)
	if err != nil {
		return Import{}, err
	}
	stored := *b
	stored.Points = nil
	raw, err := json.Marshal(stored)
	if err != nil {
		return Import{}, fmt.Errorf("store import: %w", err)
	}
	if fileNames == nil {
		fileNames = []string{}
	}
	var uid *int64
	if by.UserID != 0 {
		uid = &by.UserID
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.ImportCreate(ctx, db.ImportCreateParams{CommunityID: communityID, Source: string(b.Source), CreatedBy: uid,
			FileNames: fileNames, Bundle: raw, PointsTotal: int32(len(points))})
		if err != nil {
			return err
		}
		id = row.ID
		if len(points) > 0 {
			rows := make([]db.ImportPointsCopyParams, len(points))
			for i, p := range points {
				rows[i] = db.ImportPointsCopyParams{ImportID: id, CommunityID: communityID, Seq: int32(i), Platform: p.Platform,
					Login: p.Login, AccountID: ids[i], Name: p.Name, Points: p.Points, Seconds: p.Seconds, Currency: p.Currency}
			}
			if _, err := q.ImportPointsCopy(ctx, rows); err != nil {
				return fmt.Errorf("store balances: %w", err)
			}
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ImportCreated,
			Target: fmt.Sprintf("import #%d from %s", id, b.Source.Title()), After: summarize(b)})
	})
	if err != nil {
		return Import{}, fmt.Errorf("store import: %w", err)
	}
	return s.Get(ctx, communityID, id)
}

// summary is what an import holds, for the audit log.
type summary struct {
	Commands int `json:"commands"`
	Timers   int `json:"timers"`
	Quotes   int `json:"quotes"`
	Counters int `json:"counters"`
	Filters  int `json:"filters"`
	Balances int `json:"balances"`
	Skipped  int `json:"skipped"`
}

func summarize(b *Bundle) summary {
	return summary{len(b.Commands), len(b.Timers), len(b.Quotes), len(b.Counters), len(b.Filters), len(b.Points), len(b.Skipped)}
}

// normalize refuses a bundle no source should produce (naming the item at
// fault), and moves what cannot be created as it is (a second command of
// one name, a pattern RE2 refuses) to Skipped with the reason.
func normalize(b *Bundle) error {
	if b == nil {
		return problem.Invalidf("bundle", "Nothing was read.")
	}
	if !slices.Contains(Sources, b.Source) {
		return problem.Invalidf("source", "%q is not a bot Waddle imports from.", b.Source)
	}
	for _, l := range []struct {
		what  string
		n     int
		limit int
	}{{"commands", len(b.Commands), MaxCommands}, {"timers", len(b.Timers), MaxTimers}, {"quotes", len(b.Quotes), MaxQuotes},
		{"counters", len(b.Counters), MaxCounters}, {"filters", len(b.Filters), MaxFilters}, {"viewers' balances", len(b.Points), MaxViewers}} {
		if l.n > l.limit {
			return problem.Invalidf(l.what, "The import has %d %s; at most %d can be imported at once.", l.n, l.what, l.limit)
		}
	}
	if b.Skipped == nil {
		b.Skipped = []Skipped{}
	}
	if err := normalizeCommands(b); err != nil {
		return err
	}
	if err := normalizeTimers(b); err != nil {
		return err
	}
	for i := range b.Quotes {
		q := &b.Quotes[i]
		q.Text = strings.TrimSpace(q.Text)
		n := utf8.RuneCountInString(q.Text)
		if n == 0 || n > MaxReplyLen || q.Number < 0 {
			return problem.Invalidf("quotes", "Quote %d (#%d) needs a text of 1 to %d characters and a number of 0 or more.", i+1, q.Number, MaxReplyLen)
		}
		q.Game = cut(q.Game, 100)
		q.AddedBy = cut(q.AddedBy, 100)
	}
	counters := b.Counters[:0]
	seen := map[string]bool{}
	for _, c := range b.Counters {
		switch {
		case !namePattern.MatchString(c.Name):
			return problem.Invalidf("counters", "The counter %q needs a name of 1 to 32 lower-case letters, digits or underscores.", c.Name)
		case seen[c.Name]:
			b.Skipped = append(b.Skipped, Skipped{Category: "counter", Name: c.Name, Reason: "a second counter of this name"})
			continue
		}
		seen[c.Name] = true
		counters = append(counters, c)
	}
	b.Counters = counters
	filters := b.Filters[:0]
	for _, f := range b.Filters {
		n := utf8.RuneCountInString(f.Pattern)
		switch {
		case f.Kind != "word" && f.Kind != "regex":
			return problem.Invalidf("filters", "The filter %q is of kind %q; a filter is a word or a regex.", f.Pattern, f.Kind)
		case n == 0 || n > MaxReplyLen:
			return problem.Invalidf("filters", "A filter pattern has 1 to %d characters.", MaxReplyLen)
		}
		if f.Kind == "regex" {
			if _, err := regexp.Compile(f.Pattern); err != nil {
				b.Skipped = append(b.Skipped, Skipped{Category: "filter", Name: f.Pattern, Reason: "Waddle's regular expressions (RE2) cannot read it: " + err.Error()})
				continue
			}
		}
		filters = append(filters, f)
	}
	b.Filters = filters
	return normalizePoints(b)
}

func normalizeCommands(b *Bundle) error {
	taken := map[string]string{} // name or alias → the command holding it
	cmds := b.Commands[:0]
	for _, c := range b.Commands {
		c.Response = strings.TrimSpace(c.Response)
		n := utf8.RuneCountInString(c.Response)
		switch {
		case !namePattern.MatchString(c.Name):
			return problem.Invalidf("commands", "The command %q needs a name of 1 to 32 lower-case letters, digits or underscores.", c.Name)
		case n == 0 || n > MaxReplyLen:
			return problem.Invalidf("commands", "The command !%s needs a reply of 1 to %d characters.", c.Name, MaxReplyLen)
		case c.Permission == "":
			c.Permission = router.Everyone
		case !slices.Contains(router.Permissions, c.Permission):
			return problem.Invalidf("commands", "The command !%s has the level %q; Waddle's are %s.", c.Name, c.Permission, strings.Join(router.Permissions, ", "))
		}
		if owner, ok := taken[c.Name]; ok {
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Name, Reason: "the name is already taken by !" + owner + " in this import"})
			continue
		}
		taken[c.Name] = c.Name
		aliases := []string{}
		for _, a := range c.Aliases {
			switch owner, ok := taken[a]; {
			case !namePattern.MatchString(a):
				return problem.Invalidf("commands", "The alias %q of !%s needs 1 to 32 lower-case letters, digits or underscores.", a, c.Name)
			case ok && owner == c.Name:
				continue // the command's own name, or an alias twice
			case ok:
				b.Notes = append(b.Notes, fmt.Sprintf("The alias !%s of !%s is left out: !%s holds it in this import.", a, c.Name, owner))
				continue
			}
			taken[a] = c.Name
			aliases = append(aliases, a)
		}
		c.Aliases = aliases
		c.UserCooldown = clamp(c.UserCooldown, 0, 86400)
		c.GlobalCooldown = clamp(c.GlobalCooldown, 0, 86400)
		cmds = append(cmds, c)
	}
	b.Commands = cmds
	return nil
}

func normalizeTimers(b *Bundle) error {
	seen := map[string]bool{}
	timers := b.Timers[:0]
	for _, t := range b.Timers {
		t.Name = strings.TrimSpace(t.Name)
		t.Message = strings.TrimSpace(t.Message)
		n := utf8.RuneCountInString(t.Message)
		switch {
		case t.Name == "" || utf8.RuneCountInString(t.Name) > 64:
			return problem.Invalidf("timers", "A timer needs a name of 1 to 64 characters (%q).", t.Name)
		case n == 0 || n > MaxReplyLen:
			return problem.Invalidf("timers", "The timer %q needs a message of 1 to %d characters.", t.Name, MaxReplyLen)
		case seen[t.Name]:
			b.Skipped = append(b.Skipped, Skipped{Category: "timer", Name: t.Name, Reason: "a second timer of this name"})
			continue
		}
		seen[t.Name] = true
		if t.IntervalMinutes <= 0 {
			t.IntervalMinutes = t.OfflineMinutes
		}
		t.IntervalMinutes = clamp(t.IntervalMinutes, 1, 1440)
		t.MinLines = clamp(t.MinLines, 0, 10000)
		timers = append(timers, t)
	}
	b.Timers = timers
	return nil
}

func normalizePoints(b *Bundle) error {
	for i := range b.Points {
		p := &b.Points[i]
		p.Login = strings.ToLower(strings.TrimSpace(p.Login))
		if p.Platform == "" {
			p.Platform = "twitch"
		}
		switch {
		case p.Login == "" || len(p.Login) > 100:
			return problem.Invalidf("points", "Balance %d has no login (or one longer than 100 bytes).", i+1)
		case p.Platform != "twitch" && p.Platform != "discord" && p.Platform != "slack":
			return problem.Invalidf("points", "The balance of %s is on %q; Waddle knows twitch, discord and slack.", p.Login, p.Platform)
		case len(p.UserID) > 100 || p.Seconds < 0:
			return problem.Invalidf("points", "The balance of %s has an id longer than 100 bytes or negative time.", p.Login)
		case len(b.Currencies) > 1 && !slices.Contains(b.Currencies, p.Currency):
			return problem.Invalidf("points", "The balance of %s is in %q, which is not one of the import's currencies.", p.Login, p.Currency)
		}
		if len(b.Currencies) <= 1 {
			p.Currency = ""
		}
		p.Name = cut(p.Name, 100)
	}
	return nil
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// cut keeps the first n characters of s.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
