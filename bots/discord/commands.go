package discord

import (
	"context"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

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
