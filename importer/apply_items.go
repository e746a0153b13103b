package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// applyItems creates the commands, aliases, timers, quotes, counters and
// filters in one transaction that also sets items_done, so they are
// created once.
func (s *Service) applyItems(ctx context.Context, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		im, ok, err := lockApplying(ctx, q, communityID, id)
		if err != nil || !ok || im.ItemsDone {
			return err
		}
		rep := &im.Report
		steps := []func(context.Context, *db.Queries, Import, *Report) error{
			s.applyCommands, s.applyTimers, s.applyQuotes, s.applyCounters, s.applyFilters,
		}
		for _, step := range steps {
			if err := step(ctx, q, im, rep); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		return q.ImportSetItemsDone(ctx, db.ImportSetItemsDoneParams{CommunityID: communityID, ID: id, Report: raw})
	})
	if err != nil {
		return fmt.Errorf("import %d: create commands, timers and quotes: %w", id, err)
	}
	if s.commands != nil {
		s.commands.Invalidate(ctx, communityID)
	}
	return nil
}

func (s *Service) applyCommands(ctx context.Context, q *db.Queries, im Import, rep *Report) error {
	cmds := im.Bundle.Commands
	if len(cmds) == 0 {
		return nil
	}
	clashes, err := s.clashes(ctx, q, im.CommunityID, cmds)
	if err != nil {
		return err
	}
	// Names taken: the community's (those that clash) and the import's own.
	taken := map[string]bool{}
	for _, c := range cmds {
		taken[c.Name] = true
		for _, a := range c.Aliases {
			taken[a] = true
		}
	}
	var renames []string // commands to rename
	for _, c := range cmds {
		cl := clashes[c.Name]
		if len(cl) == 0 || cl[0].name != c.Name {
			continue
		}
		mode := im.Choices.conflict(c.Name)
		if mode != ConflictSkip && !(mode == ConflictOverwrite && cl[0].overwritable) {
			renames = append(renames, c.Name)
		}
	}
	newName, err := s.freeNames(ctx, q, im.CommunityID, renames, taken)
	if err != nil {
		return err
	}
	ins := db.ImportCommandsInsertParams{CommunityID: im.CommunityID, ImportID: im.ID}
	aliasesOf := map[string][]string{} // the created name → aliases to add
	var overwrite []Command
	for _, c := range cmds {
		cl := clashes[c.Name]
		clashed := map[string]bool{}
		for _, x := range cl {
			clashed[x.name] = true
		}
		name := c.Name
		if len(cl) > 0 {
			mode := im.Choices.conflict(c.Name)
			switch {
			case mode == ConflictSkip:
				rep.Skipped = append(rep.Skipped, c.Name)
				continue
			case !clashed[c.Name]: // only aliases clash: they are left out
			case mode == ConflictOverwrite && cl[0].overwritable:
				overwrite = append(overwrite, c)
				name = ""
			default:
				name = newName[c.Name]
				rep.Renamed = append(rep.Renamed, Rename{From: c.Name, To: name})
			}
		}
		var keep []string
		for _, a := range c.Aliases {
			if clashed[a] {
				rep.DroppedAliases = append(rep.DroppedAliases, a)
				continue
			}
			keep = append(keep, a)
		}
		if name == "" {
			aliasesOf["\x00"+c.Name] = keep
			continue
		}
		aliasesOf[name] = keep
		ins.Names = append(ins.Names, name)
		ins.Responses = append(ins.Responses, c.Response)
		ins.Permissions = append(ins.Permissions, c.Permission)
		ins.UserCooldowns = append(ins.UserCooldowns, int32(c.UserCooldown))
		ins.GlobalCooldowns = append(ins.GlobalCooldowns, int32(c.GlobalCooldown))
		ins.Enableds = append(ins.Enableds, c.Enabled)
		ins.Counters = append(ins.Counters, max(c.Count, 0))
	}
	alias := db.ImportAliasesInsertParams{CommunityID: im.CommunityID}
	if len(ins.Names) > 0 {
		rows, err := q.ImportCommandsInsert(ctx, ins)
		if err != nil {
			return fmt.Errorf("create commands: %w", err)
		}
		for _, r := range rows {
			for _, a := range aliasesOf[r.Name] {
				alias.Aliases = append(alias.Aliases, a)
				alias.CommandIds = append(alias.CommandIds, r.ID)
			}
		}
		rep.Commands += len(rows)
	}
	for _, c := range overwrite {
		old, err := q.ImportCommandForUpdate(ctx, db.ImportCommandForUpdateParams{CommunityID: im.CommunityID, Name: c.Name})
		if err != nil {
			return fmt.Errorf("overwrite !%s: %w", c.Name, err)
		}
		aliases, err := q.ImportCommandAliases(ctx, db.ImportCommandAliasesParams{CommunityID: im.CommunityID, CommandID: old.ID})
		if err != nil {
			return fmt.Errorf("overwrite !%s: %w", c.Name, err)
		}
		rep.Overwritten = append(rep.Overwritten, OldCommand{ID: old.ID, Name: old.Name, Response: old.Response, Modules: old.Modules,
			Parallel: old.Parallel, Permission: old.Permission, UserCooldown: old.UserCooldownSeconds, GlobalCooldown: old.GlobalCooldownSeconds,
			Enabled: old.Enabled, Platforms: old.Platforms, Counter: old.Counter, ImportID: old.ImportID, Aliases: aliases})
		importID := im.ID
		if err := q.ImportCommandOverwrite(ctx, db.ImportCommandOverwriteParams{CommunityID: im.CommunityID, ID: old.ID, Response: c.Response,
			Permission: c.Permission, UserCooldown: int32(c.UserCooldown), GlobalCooldown: int32(c.GlobalCooldown), Enabled: c.Enabled,
			Counter: max(c.Count, 0), ImportID: &importID}); err != nil {
			return fmt.Errorf("overwrite !%s: %w", c.Name, err)
		}
		for _, a := range aliasesOf["\x00"+c.Name] {
			alias.Aliases = append(alias.Aliases, a)
			alias.CommandIds = append(alias.CommandIds, old.ID)
		}
		rep.Commands++
	}
	if len(alias.Aliases) > 0 {
		if err := q.ImportAliasesInsert(ctx, alias); err != nil {
			return fmt.Errorf("create aliases: %w", err)
		}
		rep.Aliases += len(alias.Aliases)
	}
	return nil
}

// freeNames finds for each name the first of name_2, name_3 … that neither
// the community nor taken uses (nor a built-in), and marks it taken.
func (s *Service) freeNames(ctx context.Context, q *db.Queries, communityID int64, names []string, taken map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	const tries = 50
	var cands []string
	for _, n := range names {
		for i := 2; i < 2+tries; i++ {
			cands = append(cands, suffixed(n, "_", i, MaxNameLen))
		}
	}
	rows, err := q.ImportNameHolders(ctx, db.ImportNameHoldersParams{CommunityID: communityID, Names: cands})
	if err != nil {
		return nil, fmt.Errorf("find free command names: %w", err)
	}
	for _, r := range rows {
		taken[r.Name] = true
	}
	for _, n := range names {
		for i := 2; i < 2+tries; i++ {
			c := suffixed(n, "_", i, MaxNameLen)
			if !taken[c] && !s.builtin(c) {
				out[n] = c
				taken[c] = true
				break
			}
		}
		if out[n] == "" {
			return nil, fmt.Errorf("no free name for !%s among %d tries", n, tries)
		}
	}
	return out, nil
}

// suffixed is name with sep and i, shortened to fit n characters.
func suffixed(name, sep string, i, n int) string {
	suf := sep + strconv.Itoa(i)
	return cut(name, n-len(suf)) + suf
}

func (s *Service) applyTimers(ctx context.Context, q *db.Queries, im Import, rep *Report) error {
	timers := im.Bundle.Timers
	if len(timers) == 0 {
		return nil
	}
	platform, server := "twitch", "unlinked"
	t, err := q.ImportTimerTarget(ctx, im.CommunityID)
	switch {
	case err == pgx.ErrNoRows:
		rep.TimersDisabled = true
		rep.Notes = append(rep.Notes, "No channel is linked, so the timers were created disabled: choose their channel on the Timers page.")
	case err != nil:
		return fmt.Errorf("find the timers' channel: %w", err)
	default:
		platform, server = t.Platform, t.Server
		if platform == "discord" {
			rep.Notes = append(rep.Notes, "The timers post in the linked Discord server: choose each timer's channel on the Timers page.")
		}
	}
	var cands []string
	for _, tm := range timers {
		cands = append(cands, tm.Name)
		for i := 2; i < 12; i++ {
			cands = append(cands, suffixed(tm.Name, " ", i, 64))
		}
	}
	used, err := q.ImportTimerNames(ctx, db.ImportTimerNamesParams{CommunityID: im.CommunityID, Names: cands})
	if err != nil {
		return fmt.Errorf("look up timer names: %w", err)
	}
	taken := map[string]bool{}
	for _, n := range used {
		taken[n] = true
	}
	p := db.ImportTimersInsertParams{CommunityID: im.CommunityID, Platform: platform, Server: server, ImportID: im.ID}
	for _, tm := range timers {
		name := tm.Name
		for i := 2; taken[name] && i < 12; i++ {
			name = suffixed(tm.Name, " ", i, 64)
		}
		if taken[name] {
			rep.Notes = append(rep.Notes, fmt.Sprintf("The timer %q is not imported: its name and ten others with a number are taken.", tm.Name))
			continue
		}
		taken[name] = true
		if name != tm.Name {
			rep.TimersRenamed = append(rep.TimersRenamed, Rename{From: tm.Name, To: name})
		}
		p.Names = append(p.Names, name)
		p.Messages = append(p.Messages, tm.Message)
		p.Intervals = append(p.Intervals, int32(tm.IntervalMinutes))
		p.MinLines = append(p.MinLines, int32(tm.MinLines))
		p.OnlyLives = append(p.OnlyLives, tm.OfflineMinutes == 0)
		p.Enableds = append(p.Enableds, tm.Enabled && !rep.TimersDisabled)
	}
	n, err := q.ImportTimersInsert(ctx, p)
	if err != nil {
		return fmt.Errorf("create timers: %w", err)
	}
	rep.Timers = int(n)
	return nil
}

func (s *Service) applyQuotes(ctx context.Context, q *db.Queries, im Import, rep *Report) error {
	quotes := im.Bundle.Quotes
	if len(quotes) == 0 {
		return nil
	}
	last, err := q.ImportQuoteCounterLock(ctx, im.CommunityID)
	if err != nil {
		return fmt.Errorf("number quotes: %w", err)
	}
	nums := numberQuotes(quotes, int(last))
	p := db.ImportQuotesInsertParams{CommunityID: im.CommunityID, ImportID: im.ID}
	top := int(last)
	for i, qt := range quotes {
		p.Numbers = append(p.Numbers, int32(nums[i]))
		p.Texts = append(p.Texts, qt.Text)
		p.Games = append(p.Games, qt.Game)
		p.AddedBys = append(p.AddedBys, qt.AddedBy)
		at := qt.Date
		if at.IsZero() {
			at = s.now()
		}
		p.CreatedAts = append(p.CreatedAts, at)
		top = max(top, nums[i])
	}
	n, err := q.ImportQuotesInsert(ctx, p)
	if err != nil {
		return fmt.Errorf("create quotes: %w", err)
	}
	rep.Quotes = int(n)
	if err := q.ImportQuoteCounterSet(ctx, db.ImportQuoteCounterSetParams{CommunityID: im.CommunityID, LastNumber: int32(top)}); err != nil {
		return fmt.Errorf("number quotes: %w", err)
	}
	return nil
}

func (s *Service) applyCounters(ctx context.Context, q *db.Queries, im Import, rep *Report) error {
	counters := im.Bundle.Counters
	if im.Choices.OtherCurrencies == OtherCounter && len(im.Bundle.Currencies) > 1 {
		rows, err := q.ImportPointsSummary(ctx, db.ImportPointsSummaryParams{ImportID: im.ID, CommunityID: im.CommunityID})
		if err != nil {
			return fmt.Errorf("sum the other currencies: %w", err)
		}
		for _, r := range rows {
			if r.Currency == im.Choices.Currency {
				continue
			}
			name := counterName(r.Currency)
			counters = append(counters, Counter{Name: name, Value: r.Points})
			rep.Notes = append(rep.Notes, fmt.Sprintf("The currency %q went into the counter %s with its total, %d.", r.Currency, name, r.Points))
		}
	}
	if len(counters) == 0 {
		return nil
	}
	names := make([]string, len(counters))
	vals := make([]int64, len(counters))
	for i, c := range counters {
		names[i], vals[i] = c.Name, c.Value
	}
	kept, err := q.ImportCounterNames(ctx, db.ImportCounterNamesParams{CommunityID: im.CommunityID, Names: names})
	if err != nil {
		return fmt.Errorf("look up counters: %w", err)
	}
	rep.CountersKept = append(rep.CountersKept, kept...)
	n, err := q.ImportCountersInsert(ctx, db.ImportCountersInsertParams{CommunityID: im.CommunityID, Names: names, Vals: vals, ImportID: im.ID})
	if err != nil {
		return fmt.Errorf("create counters: %w", err)
	}
	rep.Counters = int(n)
	return nil
}

// counterName makes a counter name of a currency's name.
func counterName(currency string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(currency) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('_')
		}
	}
	n := cut(b.String(), MaxNameLen)
	if n == "" {
		n = "currency"
	}
	return n
}

func (s *Service) applyFilters(ctx context.Context, q *db.Queries, im Import, rep *Report) error {
	fs := im.Bundle.Filters
	if len(fs) == 0 {
		return nil
	}
	p := db.ImportRulesInsertParams{CommunityID: im.CommunityID, ImportID: im.ID}
	for _, f := range fs {
		p.Kinds = append(p.Kinds, f.Kind)
		p.Patterns = append(p.Patterns, f.Pattern)
	}
	n, err := q.ImportRulesInsert(ctx, p)
	if err != nil {
		return fmt.Errorf("create filters: %w", err)
	}
	rep.Filters = int(n)
	return nil
}
