package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// maxDailyCreates is how many application commands Discord lets an
// application create in one guild a day. A bulk overwrite counts only the
// names the guild did not have.
const maxDailyCreates = 200

// slashRetry is when a guild's registration may be tried again after a failure.
type slashRetry struct {
	at       time.Time
	attempts int
}

// slashCommands turns the slash commands of a plan (router.SlashCommands)
// into Discord's, in the plan's order, each with one optional "args" option.
func slashCommands(plan []router.SlashEntry) []*discordgo.ApplicationCommand {
	out := make([]*discordgo.ApplicationCommand, 0, len(plan))
	for _, e := range plan {
		if !e.Slash || e.Command == nil || len(out) == router.MaxSlashCommands {
			continue
		}
		desc, complete := "", ""
		switch {
		case e.Alias:
			desc = "Same as /" + e.Command.Name
		case e.Command.Builtin:
			desc = "Runs /" + e.Name
			for _, b := range builtins {
				if b.name == e.Name {
					desc, complete = b.desc, b.complete
				}
			}
		case len(e.Command.Modules) > 0:
			desc = "Runs " + strings.Join(e.Command.Modules, ", ")
		default:
			desc = e.Command.Response
		}
		desc = strings.Join(strings.Fields(desc), " ")
		if desc == "" {
			desc = "Runs /" + e.Name
		}
		out = append(out, &discordgo.ApplicationCommand{Name: e.Name, Description: runes.Truncate(desc, 100, ""), Type: discordgo.ChatApplicationCommand,
			Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionString, Name: "args",
				Description: "Arguments", Required: false, Autocomplete: complete != "", MaxLength: 1900}}})
	}
	return out
}

func onDiscord(c *router.Command) bool {
	for _, p := range c.Platforms {
		if p == router.Discord {
			return true
		}
	}
	return false
}

func hashCommands(cmds []*discordgo.ApplicationCommand) string {
	raw, _ := json.Marshal(cmds)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// withinCreates keeps the commands of want that the guild has (have) and,
// in want's order, as many new ones as left creates allow; it returns what
// to register, how many of them are new, and how many new ones wait.
func withinCreates(want []*discordgo.ApplicationCommand, have map[string]bool, left int) (keep []*discordgo.ApplicationCommand, created, held int) {
	for _, c := range want {
		if !have[c.Name] {
			if created >= left {
				held++
				continue
			}
			created++
		}
		keep = append(keep, c)
	}
	return keep, created, held
}

// createsKey counts an application's command creates in a guild on a UTC day.
func createsKey(app, guild string, day time.Time) string {
	return "slash-creates:" + app + ":" + guild + ":" + day.Format("2006-01-02")
}

// creates is how many commands were created in guild on now's UTC day.
func (b *Bot) creates(ctx context.Context, guild string, now time.Time) int {
	var n int
	if err := b.store.get(ctx, createsKey(b.cfg.AppID, guild, now.UTC()), &n); err != nil {
		return 0
	}
	return n
}

// setCreates records n creates in guild on now's UTC day.
func (b *Bot) setCreates(ctx context.Context, guild string, now time.Time, n int) {
	if _, err := b.store.put(ctx, createsKey(b.cfg.AppID, guild, now.UTC()), n, 48*time.Hour, true); err != nil {
		b.log.WarnContext(ctx, "count slash command creates", "err", err, "guild", guild)
	}
}

// register brings a linked guild's slash commands to the community's plan,
// in one bulk overwrite when the list changed: the commands the guild has
// are kept and updated, and new ones are created only within Discord's
// 200 creates a day, the rest waiting for the next day. A refused
// registration is tried again after Discord's retry_after, or with backoff.
func (b *Bot) register(ctx context.Context, guild string) {
	now := b.cfg.Now()
	b.mu.Lock()
	cid, ok := b.linked[guild]
	wait := b.slashWait[guild]
	b.mu.Unlock()
	if !ok || now.Before(wait.at) {
		return
	}
	plan, err := b.cfg.Settings.SlashCommands(ctx, cid, now)
	if err != nil {
		b.log.WarnContext(ctx, "load commands to register", "err", err, "community", cid)
		return
	}
	want := slashCommands(plan)
	h := hashCommands(want)
	day := now.UTC().Format("2006-01-02")
	b.mu.Lock()
	done := b.hashes[guild]
	b.mu.Unlock()
	if done == h || done == h+"@"+day {
		return // registered, or registered as far as today's creates allowed
	}
	current, err := b.api.ApplicationCommands(b.cfg.AppID, guild, discordgo.WithContext(ctx))
	if err != nil {
		b.retryRegister(ctx, guild, now, b.check(err))
		return
	}
	have := map[string]bool{}
	for _, c := range current {
		if c != nil && (c.Type == 0 || c.Type == discordgo.ChatApplicationCommand) {
			have[c.Name] = true
		}
	}
	used := b.creates(ctx, guild, now)
	send, created, held := withinCreates(want, have, maxDailyCreates-used)
	if _, err := b.api.ApplicationCommandBulkOverwrite(b.cfg.AppID, guild, send, discordgo.WithContext(ctx)); err != nil {
		err = b.check(err)
		var ra *platform.RetryAfter
		if errors.As(err, &ra) && !ra.Global {
			// Discord's count of today's creates is spent (30034) or the
			// route is limited: no create until it says.
			b.setCreates(ctx, guild, now, maxDailyCreates)
		}
		b.retryRegister(ctx, guild, now, err)
		return
	}
	if created > 0 {
		b.setCreates(ctx, guild, now, used+created)
	}
	b.mu.Lock()
	delete(b.slashWait, guild)
	b.hashes[guild] = h
	if held > 0 {
		b.hashes[guild] = h + "@" + day
	}
	b.mu.Unlock()
	if held > 0 {
		b.log.WarnContext(ctx, "some slash commands wait for tomorrow: Discord allows 200 command creates a day per server",
			"guild", guild, "registered", len(send), "waiting", held)
		return
	}
	b.log.InfoContext(ctx, "slash commands registered", "guild", guild, "commands", len(send), "created", created)
}

// retryRegister holds a guild's registration back after err: for
// Discord's retry_after when it gave one, else with growing backoff.
func (b *Bot) retryRegister(ctx context.Context, guild string, now time.Time, err error) {
	b.mu.Lock()
	if b.slashWait == nil {
		b.slashWait = map[string]slashRetry{}
	}
	w := b.slashWait[guild]
	delay := platform.Backoff(w.attempts)
	var ra *platform.RetryAfter
	if errors.As(err, &ra) && ra.Wait > 0 {
		delay = ra.Wait
	}
	w.attempts++
	w.at = now.Add(delay)
	b.slashWait[guild] = w
	b.mu.Unlock()
	b.log.WarnContext(ctx, "register slash commands", "err", err, "guild", guild, "retry_in", delay.Round(time.Second).String())
}

// pollLinks reads which guilds are linked and registers their slash commands.
func (b *Bot) pollLinks(ctx context.Context) {
	links, err := b.cfg.Links.List(ctx, router.Discord)
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "list linked guilds", "err", err)
		}
		return
	}
	linked := make(map[string]int64, len(links))
	for _, l := range links {
		linked[l.Server] = l.CommunityID
	}
	b.mu.Lock()
	var unlinked, mine []string
	for g := range b.linked {
		if _, ok := linked[g]; !ok && b.guilds[g] != nil {
			unlinked = append(unlinked, g)
		}
	}
	b.linked = linked
	for g := range linked {
		if b.guilds[g] != nil {
			mine = append(mine, g)
		}
	}
	b.mu.Unlock()
	for _, g := range unlinked {
		if _, err := b.api.ApplicationCommandBulkOverwrite(b.cfg.AppID, g, []*discordgo.ApplicationCommand{}, discordgo.WithContext(ctx)); err != nil {
			b.log.WarnContext(ctx, "remove slash commands of an unlinked guild", "err", b.check(err), "guild", g)
			continue
		}
		b.mu.Lock()
		delete(b.hashes, g)
		delete(b.slashWait, g)
		b.mu.Unlock()
	}
	for _, g := range mine {
		b.register(ctx, g)
	}
}
