package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// MaxSlashCommands is how many chat-input (slash) commands Discord lets an
// application register in one server.
const MaxSlashCommands = 100

// slashUsageDays is how far back use ranks the commands: the whole UTC days
// before today, so the ranking changes once a day and every instance (the
// hub's page, the bot registering) computes the same one.
const slashUsageDays = 30

// SlashChoice is what a community chose for one command on Discord.
type SlashChoice string

// Choices of SetSlashChoice.
const (
	SlashAuto   SlashChoice = "auto"   // a slash command if it ranks among the most used
	SlashAlways SlashChoice = "always" // before the ranked ones
	SlashNever  SlashChoice = "never"
)

// SlashChoices lists the choices, for forms.
var SlashChoices = []SlashChoice{SlashAuto, SlashAlways, SlashNever}

// Reasons a name is not a slash command.
const (
	SlashOverLimit = "over Discord's 100-command limit"
	slashDisabled  = "the command is disabled"
	slashElsewhere = "the command is not used on Discord"
	slashLeftOut   = "left out by choice"
)

// SlashEntry is one name of a community (a built-in, a command or an
// alias) as a possible Discord slash command.
type SlashEntry struct {
	Name    string
	Command *Command // what the name runs: the command of an alias
	Alias   bool
	Uses    int64 // runs of Command in the 30 whole UTC days before today
	Choice  SlashChoice
	Slash   bool
	Reason  string // why it is not a slash command, when it is not
}

// SlashNameProblem says why Discord refuses name as a slash command's name
// (1 to 32 lower-case letters, digits, '-' or '_'), or "".
func SlashNameProblem(name string) string {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 32 {
		return fmt.Sprintf("name not allowed by Discord: %d characters, where it allows 1 to 32", n)
	}
	for _, r := range name {
		switch {
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			if unicode.ToLower(r) != r {
				return fmt.Sprintf("name not allowed by Discord: %q is upper case", r)
			}
		default:
			return fmt.Sprintf("name not allowed by Discord: %q is not a letter, digit, '-' or '_'", r)
		}
	}
	return ""
}

// SlashCommands ranks the names of a community as Discord slash commands,
// most wanted first, and marks the first MaxSlashCommands of those Discord
// can have: the names the community chose "always", then by use over the
// last 30 days (a built-in before a command before an alias, then by name,
// when uses are equal); a disabled command, one not used on Discord and a
// name chosen "never" are never slash commands. now sets the day.
func (st *Settings) SlashCommands(ctx context.Context, communityID int64, now time.Time) ([]SlashEntry, error) {
	s, err := loadSnapshot(ctx, st.pool, communityID)
	if err != nil {
		return nil, err
	}
	q := db.New(st.pool)
	rows, err := q.SlashChoiceList(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load slash choices of %d: %w", communityID, err)
	}
	choices := make(map[string]SlashChoice, len(rows))
	for _, r := range rows {
		choices[r.Name] = SlashChoice(r.Choice)
	}
	uses, err := st.usage.get(ctx, q, communityID, now)
	if err != nil {
		return nil, err
	}
	builtins := make([]*Command, 0, len(st.reg.decls))
	for _, d := range st.reg.decls {
		builtins = append(builtins, st.reg.commands[d.Name])
	}
	return planSlash(builtins, s.list, uses, choices), nil
}

// planSlash is SlashCommands on loaded data.
func planSlash(builtins, cmds []*Command, uses map[string]int64, choices map[string]SlashChoice) []SlashEntry {
	var all []SlashEntry
	seen := map[string]bool{}
	add := func(name string, c *Command, alias bool) {
		if seen[name] {
			return
		}
		seen[name] = true
		e := SlashEntry{Name: name, Command: c, Alias: alias, Uses: uses[c.Name], Choice: SlashAuto}
		if ch, ok := choices[name]; ok {
			e.Choice = ch
		}
		switch {
		case !c.Enabled:
			e.Reason = slashDisabled
		case !slices.Contains(c.Platforms, Discord):
			e.Reason = slashElsewhere
		case e.Choice == SlashNever:
			e.Reason = slashLeftOut
		default:
			e.Reason = SlashNameProblem(name)
		}
		all = append(all, e)
	}
	for _, c := range builtins {
		add(c.Name, c, false)
	}
	for _, c := range cmds {
		add(c.Name, c, false)
	}
	for _, c := range cmds {
		for _, a := range c.Aliases {
			add(a, c, true)
		}
	}
	// Stable: equal entries keep the order above.
	slices.SortStableFunc(all, func(a, b SlashEntry) int {
		if (a.Reason == "") != (b.Reason == "") {
			if a.Reason == "" {
				return -1
			}
			return 1
		}
		if (a.Choice == SlashAlways) != (b.Choice == SlashAlways) {
			if a.Choice == SlashAlways {
				return -1
			}
			return 1
		}
		if a.Alias != b.Alias {
			if b.Alias {
				return -1
			}
			return 1
		}
		switch {
		case a.Uses > b.Uses:
			return -1
		case a.Uses < b.Uses:
			return 1
		}
		return 0
	})
	n := 0
	for i := range all {
		if all[i].Reason != "" {
			continue
		}
		if n == MaxSlashCommands {
			all[i].Reason = SlashOverLimit
			continue
		}
		all[i].Slash = true
		n++
	}
	return all
}

type slashChoiceState struct {
	Choice SlashChoice `json:"choice"`
}

// SetSlashChoice sets whether a built-in, command or alias of a community
// is a Discord slash command: always, never, or when it ranks by use
// (auto), recording who did it in the audit log.
func (st *Settings) SetSlashChoice(ctx context.Context, by audit.Actor, communityID int64, name string, choice SlashChoice) error {
	if !slices.Contains(SlashChoices, choice) {
		return problem.Invalidf("slash", "Choose auto, always or never.")
	}
	name = strings.ToLower(strings.TrimSpace(name))
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if st.reg.commands[name] == nil {
			taken, err := q.CommandNameTaken(ctx, db.CommandNameTakenParams{CommunityID: communityID, Name: name})
			if err != nil {
				return err
			}
			if !taken {
				return ErrCommandNotFound
			}
		}
		old, err := q.SlashChoiceGetForUpdate(ctx, db.SlashChoiceGetForUpdateParams{CommunityID: communityID, Name: name})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			old = string(SlashAuto)
		case err != nil:
			return err
		}
		if old == string(choice) {
			return nil
		}
		if choice == SlashAuto {
			_, err = q.SlashChoiceDelete(ctx, db.SlashChoiceDeleteParams{CommunityID: communityID, Name: name})
		} else {
			err = q.SlashChoiceSet(ctx, db.SlashChoiceSetParams{CommunityID: communityID, Name: name, Choice: string(choice)})
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.SlashChoiceChanged,
			Target: "slash command " + name, Before: slashChoiceState{SlashChoice(old)}, After: slashChoiceState{choice}})
	})
	if err != nil {
		return fmt.Errorf("set the slash choice of %q: %w", name, err)
	}
	return nil
}

// forgetSlashChoices drops the choices of names that are gone, so a new
// command of the same name starts ranked by use.
func forgetSlashChoices(ctx context.Context, q *db.Queries, communityID int64, names []string) error {
	for _, n := range names {
		if _, err := q.SlashChoiceDelete(ctx, db.SlashChoiceDeleteParams{CommunityID: communityID, Name: n}); err != nil {
			return err
		}
	}
	return nil
}

// usageCache keeps each community's command use of the last 30 whole days:
// it changes once a day, and the bot asks every few seconds.
type usageCache struct {
	mu   sync.Mutex
	days map[int64]usageDay
}

type usageDay struct {
	day  time.Time
	uses map[string]int64
}

// get returns how often each command of a community ran in the 30 whole UTC
// days before now's.
func (u *usageCache) get(ctx context.Context, q *db.Queries, communityID int64, now time.Time) (map[string]int64, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	u.mu.Lock()
	if d, ok := u.days[communityID]; ok && d.day.Equal(day) {
		u.mu.Unlock()
		return d.uses, nil
	}
	u.mu.Unlock()
	rows, err := q.CommandUsageBetween(ctx, db.CommandUsageBetweenParams{CommunityID: communityID,
		Since: day.AddDate(0, 0, -slashUsageDays), Until: day})
	if err != nil {
		return nil, fmt.Errorf("load command use of %d: %w", communityID, err)
	}
	uses := make(map[string]int64, len(rows))
	for _, r := range rows {
		uses[r.Command] = r.Uses
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.days == nil || len(u.days) > 10_000 {
		u.days = map[int64]usageDay{}
	}
	u.days[communityID] = usageDay{day: day, uses: uses}
	return uses, nil
}
