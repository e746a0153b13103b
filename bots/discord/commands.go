package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// builtinSpec is a router built-in command as a slash command.
type builtinSpec struct {
	name, desc string
	complete   string // "commands" or "users": what its args autocomplete
}

// builtins are the router's built-in commands (router/module.go).
var builtins = []builtinSpec{
	{"help", "Lists the commands you may use", "commands"},
	{"points", "Shows your points", ""},
	{"leaderboard", "Shows the top 10", ""},
	{"quote", "Shows a quote: [n] | random | add <text> | del <n>", ""},
	{"so", "Gives a shout-out: <user>", "users"},
	{"give", "Gives points: <user> <points>", "users"},
	{"commands", "Manages commands: add|edit|del|show <name> [response]", ""},
	{"alias", "Manages aliases: add|del <alias> [command]", ""},
	{"counter", "Shows or sets a command's counter: <command> [set <n>]", "commands"},
}

// maxSlash is how many slash commands Discord allows per guild.
const maxSlash = 100

// slashCommands builds a community's slash commands: the built-ins, then its
// enabled Discord commands, each with one optional "args" option.
func slashCommands(cmds []*router.Command) []*discordgo.ApplicationCommand {
	out := make([]*discordgo.ApplicationCommand, 0, len(builtins)+len(cmds))
	seen := map[string]bool{}
	add := func(name, desc, complete string) {
		if seen[name] || len(out) == maxSlash || !validSlash(name) {
			return
		}
		seen[name] = true
		desc = strings.Join(strings.Fields(desc), " ")
		if desc == "" {
			desc = "Runs /" + name
		}
		out = append(out, &discordgo.ApplicationCommand{Name: name, Description: runes.Truncate(desc, 100, ""), Type: discordgo.ChatApplicationCommand,
			Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionString, Name: "args",
				Description: "Arguments", Required: false, Autocomplete: complete != "", MaxLength: 1900}}})
	}
	for _, b := range builtins {
		add(b.name, b.desc, b.complete)
	}
	for _, c := range cmds {
		if c == nil || !c.Enabled || !onDiscord(c) {
			continue
		}
		desc := c.Response
		if len(c.Modules) > 0 {
			desc = "Runs " + strings.Join(c.Modules, ", ")
		}
		add(c.Name, desc, "")
	}
	// Aliases last, so a guild near Discord's limit keeps the commands themselves.
	for _, c := range cmds {
		if c == nil || !c.Enabled || !onDiscord(c) {
			continue
		}
		for _, a := range c.Aliases {
			add(a, "Same as /"+c.Name, "")
		}
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

// validSlash accepts Discord's lower-case command names (router names are a subset).
func validSlash(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func hashCommands(cmds []*discordgo.ApplicationCommand) string {
	raw, _ := json.Marshal(cmds)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
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
		b.mu.Unlock()
	}
	for _, g := range mine {
		b.register(ctx, g)
	}
}

// register overwrites a linked guild's slash commands when its list changed.
func (b *Bot) register(ctx context.Context, guild string) {
	b.mu.Lock()
	cid, ok := b.linked[guild]
	b.mu.Unlock()
	if !ok {
		return
	}
	cmds, err := b.cfg.Settings.Commands(ctx, cid)
	if err != nil {
		b.log.WarnContext(ctx, "load commands to register", "err", err, "community", cid)
		return
	}
	slash := slashCommands(cmds)
	h := hashCommands(slash)
	b.mu.Lock()
	same := b.hashes[guild] == h
	b.mu.Unlock()
	if same {
		return
	}
	if _, err := b.api.ApplicationCommandBulkOverwrite(b.cfg.AppID, guild, slash, discordgo.WithContext(ctx)); err != nil {
		b.log.WarnContext(ctx, "register slash commands", "err", b.check(err), "guild", guild)
		return
	}
	b.mu.Lock()
	b.hashes[guild] = h
	b.mu.Unlock()
	b.log.InfoContext(ctx, "slash commands registered", "guild", guild, "commands", len(slash))
}

// autocomplete suggests command names or guild members for the "args" option.
func (b *Bot) autocomplete(ctx context.Context, i *discordgo.Interaction, d discordgo.ApplicationCommandInteractionData) {
	value := ""
	for _, o := range d.Options {
		if o != nil && o.Focused {
			value, _ = o.Value.(string)
		}
	}
	value = strings.ToLower(strings.TrimSpace(value))
	kind := ""
	for _, s := range builtins {
		if s.name == d.Name {
			kind = s.complete
		}
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	add := func(name, v string) {
		if len(choices) < 25 && name != "" && v != "" {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: runes.Truncate(name, 100, ""), Value: runes.Truncate(v, 100, "")})
		}
	}
	switch kind {
	case "commands":
		for _, s := range builtins {
			if strings.HasPrefix(s.name, value) {
				add(s.name, s.name)
			}
		}
		b.mu.Lock()
		cid, ok := b.linked[i.GuildID]
		b.mu.Unlock()
		if ok {
			cmds, err := b.cfg.Settings.Commands(ctx, cid)
			if err != nil {
				b.log.WarnContext(ctx, "autocomplete commands", "err", err)
			}
			for _, c := range cmds {
				if c.Enabled && onDiscord(c) && strings.HasPrefix(c.Name, value) {
					add(c.Name, c.Name)
				}
			}
		}
	case "users":
		value = strings.TrimPrefix(value, "@") // "@al" names the same people as "al", as !so and !give read it
		if value != "" {
			members, err := b.api.GuildMembersSearch(i.GuildID, value, 10, discordgo.WithContext(ctx))
			if err != nil {
				b.log.WarnContext(ctx, "autocomplete members", "err", b.check(err))
			}
			for _, m := range members {
				if m == nil || m.User == nil {
					continue
				}
				shown := m.User.Username
				if m.Nick != "" {
					shown = m.Nick + " (" + m.User.Username + ")"
				}
				add(shown, m.User.Username)
			}
		}
	}
	b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices}})
}

// shardOf is the shard a guild's events arrive on.
func shardOf(guild string, count int) int {
	id, err := strconv.ParseUint(guild, 10, 64)
	if err != nil || count <= 1 {
		return 0
	}
	return int((id >> 22) % uint64(count))
}
