package importer

import (
	"fmt"
	"strings"

	"github.com/waddle/waddle/router"
)

// readCommands reads PhantomBot's custom commands (phantombot_command)
// with what other tables say about them: permcom (permission group),
// cooldown, pricecom (price), commandCount, disabledCommands, and the
// aliases pointing at them. Built-in commands are not imported; a
// permission or cooldown set on one is ignored.
func (r *pbReader) readCommands() error {
	perms, err := r.mapOf(pbPermcom)
	if err != nil {
		return err
	}
	cooldowns, err := r.mapOf(pbCooldown)
	if err != nil {
		return err
	}
	prices, err := r.mapOf(pbPricecom)
	if err != nil {
		return err
	}
	counts, err := r.mapOf(pbCount)
	if err != nil {
		return err
	}
	disabled, err := r.mapOf(pbDisabled)
	if err != nil {
		return err
	}
	settings, err := r.mapOf(pbCooldownSet)
	if err != nil {
		return err
	}
	defaultCooldown := pbDefaultCooldown
	if raw, ok := settings["defaultcooldowntime"]; ok {
		if n, ok := pbWhole(raw); ok && n >= 0 {
			defaultCooldown = bfSeconds(n)
		}
	}
	at := map[string]int{}
	err = r.each(pbCommand, func(variable, value string) error {
		key := strings.ToLower(strings.TrimSpace(variable))
		name, why := bfCommandName(key)
		if why != "" {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: "!" + variable, Reason: why})
			return nil
		}
		if _, dup := at[name]; dup {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: "!" + variable, Reason: "a second command named !" + name})
			return nil
		}
		if len(r.b.Commands) >= MaxCommands {
			return r.fail("has more than %d commands", MaxCommands)
		}
		resp, attention := pbTranslate(value)
		cmd := Command{
			Name:           name,
			Response:       resp,
			Original:       value,
			Attention:      attention,
			Permission:     router.Everyone,
			SourceLevel:    "7 Viewer",
			GlobalCooldown: defaultCooldown,
			Enabled:        true,
		}
		if raw, ok := perms[key]; ok {
			perm, source, why := pbLevel(raw)
			cmd.Permission, cmd.SourceLevel = perm, source
			if why != "" {
				cmd.Attention = append(cmd.Attention, why)
			}
		}
		if raw, ok := cooldowns[key]; ok {
			global, user, ok := pbCooldownOf(raw)
			if ok {
				cmd.GlobalCooldown, cmd.UserCooldown = global, user
			} else {
				cmd.Attention = append(cmd.Attention, fmt.Sprintf("its cooldown %q could not be read; PhantomBot's default of %d seconds is used", raw, defaultCooldown))
			}
		}
		if raw, ok := prices[key]; ok {
			if n, ok := pbWhole(raw); ok && n > 0 {
				cmd.Attention = append(cmd.Attention, fmt.Sprintf("cost %d points to use; Waddle commands are free", n))
			}
		}
		if raw, ok := counts[key]; ok {
			if n, ok := pbWhole(raw); ok && n > 0 {
				cmd.Count = n
			}
		}
		if raw, ok := disabled[key]; ok && !strings.EqualFold(strings.TrimSpace(raw), "false") {
			cmd.Enabled = false
		}
		bfReplyChecks(&cmd)
		at[name] = len(r.b.Commands)
		r.b.Commands = append(r.b.Commands, cmd)
		return nil
	})
	if err != nil {
		return err
	}
	if len(r.b.Commands) > 0 {
		r.b.Notes = append(r.b.Notes, fmt.Sprintf("Commands without a cooldown of their own get PhantomBot's default global cooldown, %d seconds.", defaultCooldown))
	}
	return r.readAliases(at)
}

// readAliases adds phantombot_aliases (alias → command) to the commands
// they point at; an alias of a built-in command, or one that passes
// arguments, is listed as skipped.
func (r *pbReader) readAliases(at map[string]int) error {
	return r.each(pbAliases, func(variable, value string) error {
		alias, why := bfCommandName(variable)
		shown := "!" + strings.TrimPrefix(strings.TrimSpace(variable), "!")
		if why != "" {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: shown, Reason: "alias: " + why})
			return nil
		}
		target := strings.Fields(strings.ToLower(strings.TrimSpace(value)))
		if len(target) == 0 {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: shown, Reason: "an alias of nothing"})
			return nil
		}
		to := strings.TrimPrefix(target[0], "!")
		i, ok := at[to]
		switch {
		case !ok:
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: shown, Reason: fmt.Sprintf("an alias of !%s, a PhantomBot built-in command Waddle does not import", to)})
			return nil
		case len(target) > 1:
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: shown, Reason: fmt.Sprintf("an alias of !%s that adds arguments (%q); Waddle's aliases add none", to, value)})
			return nil
		}
		if _, clash := at[alias]; clash {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "command", Name: shown, Reason: fmt.Sprintf("an alias of !%s with the name of another command", to)})
			return nil
		}
		c := &r.b.Commands[i]
		for _, a := range c.Aliases {
			if a == alias {
				return nil
			}
		}
		c.Aliases = append(c.Aliases, alias)
		return nil
	})
}
