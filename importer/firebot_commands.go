package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/waddle/waddle/router"
)

// fbCommand is a Firebot custom command as chat/commands.json and a
// setup's components.commands hold it.
type fbCommand struct {
	ID               string          `json:"id"`
	Trigger          string          `json:"trigger"`
	TriggerIsRegex   bool            `json:"triggerIsRegex"`
	ScanWholeMessage bool            `json:"scanWholeMessage"`
	Active           *bool           `json:"active"`
	Aliases          []string        `json:"aliases"`
	Count            float64         `json:"count"`
	Cooldown         *fbCooldown     `json:"cooldown"`
	Effects          json.RawMessage `json:"effects"`
	RestrictionData  *fbRestrictions `json:"restrictionData"`
	SubCommands      []struct {
		Arg string `json:"arg"`
	} `json:"subCommands"`
}

type fbCooldown struct {
	Global *float64 `json:"global"` // seconds
	User   *float64 `json:"user"`   // seconds
}

type fbRestrictions struct {
	Mode         string          `json:"mode"` // all, any, none
	Restrictions []fbRestriction `json:"restrictions"`
}

type fbRestriction struct {
	Type     string   `json:"type"`
	Mode     string   `json:"mode"` // roles, viewer
	RoleIDs  []string `json:"roleIds"`
	Username string   `json:"username"`
}

// fbEffect is one effect of an effect list. The type is "type" in v5; the
// earliest v5 files kept it in "id".
type fbEffect struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Active  *bool           `json:"active"`
	Message json.RawMessage `json:"message"`
	Whisper json.RawMessage `json:"whisper"`
}

type fbEffectList struct {
	List    []fbEffect `json:"list"`
	RunMode string     `json:"runMode"`
}

// fbChat is what an effect list says in chat.
type fbChat struct {
	message   string   // the first chat message, as written
	attention []string // what of the list Waddle cannot do
	others    []string // the other effects, described
}

// firebotEffects reads an effect list (an object with "list", or the
// earliest v5 form, a bare array).
func firebotEffects(raw json.RawMessage) (fbChat, error) {
	var out fbChat
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var l fbEffectList
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &l.List); err != nil {
			return out, err
		}
	} else if err := json.Unmarshal(raw, &l); err != nil {
		return out, err
	}
	var chats []string
	for _, e := range l.List {
		if e.Active != nil && !*e.Active {
			continue // Firebot skips a disabled effect
		}
		typ := e.Type
		if typ == "" && strings.Contains(e.ID, ":") {
			typ = e.ID
		}
		if typ != "firebot:chat" {
			out.others = append(out.others, describeEffect(typ))
			continue
		}
		var msg string
		if len(e.Message) > 0 && string(e.Message) != "null" {
			if err := json.Unmarshal(e.Message, &msg); err != nil {
				return out, fmt.Errorf("a chat effect's message is not text")
			}
		}
		var whisper string
		_ = json.Unmarshal(e.Whisper, &whisper)
		if whisper != "" {
			out.attention = append(out.attention, fmt.Sprintf("the chat message was whispered to %s; Waddle replies in the channel", whisper))
		}
		if strings.TrimSpace(msg) != "" {
			chats = append(chats, msg)
		}
	}
	if len(chats) > 0 {
		out.message = chats[0]
		if len(chats) > 1 {
			how := "in turn"
			if l.RunMode == "random" {
				how = "one at random"
			}
			out.attention = append(out.attention, fmt.Sprintf("Firebot sent %d chat messages (%s); Waddle replies with the first, the others were: %s", len(chats), how, strings.Join(fbQuoteAll(chats[1:]), ", ")))
		}
	}
	return out, nil
}

func fbQuoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// firebotEffectNames describes the effects people use most, for the
// reasons shown in the preview.
var firebotEffectNames = map[string]string{
	"firebot:playsound":           "plays a sound",
	"firebot:playvideo":           "plays a video",
	"firebot:showImage":           "shows an image",
	"firebot:showtext":            "shows text in the overlay",
	"firebot:html":                "shows HTML in the overlay",
	"firebot:celebration":         "shows a celebration",
	"firebot:customscript":        "runs a custom script",
	"firebot:http-request":        "sends an HTTP request",
	"firebot:currency":            "changes a currency",
	"firebot:update-counter":      "updates a counter",
	"firebot:delay":               "waits",
	"firebot:randomeffect":        "runs a random effect",
	"firebot:sequentialeffect":    "runs effects in sequence",
	"firebot:conditional-effects": "runs effects on conditions",
	"firebot:run-effect-list":     "runs a preset effect list",
	"firebot:modTimeout":          "times a viewer out",
	"firebot:modban":              "bans a viewer",
	"firebot:clearchat":           "clears the chat",
	"firebot:api":                 "fetches from an API",
	"firebot:run-command":         "runs another command",
	"firebot:text-to-speech":      "speaks text aloud",
	"firebot:obs-set-scene":       "switches the OBS scene",
	"firebot:file-writer":         "writes a file",
	"firebot:chat-feed-alert":     "shows an alert in Firebot",
	"firebot:twitch-shoutout":     "gives a Twitch shoutout",
	"firebot:stream-title":        "changes the stream title",
	"firebot:stream-game":         "changes the stream category",
}

func describeEffect(typ string) string {
	if typ == "" {
		return "an effect without a type"
	}
	if d, ok := firebotEffectNames[typ]; ok {
		return fmt.Sprintf("%s (%s)", d, typ)
	}
	return fmt.Sprintf("runs the effect %s", typ)
}

// firebotRoles maps Firebot's Twitch role ids (src/shared/twitch-roles.js)
// to Waddle's levels. A command open to any of several roles gets the
// lowest of their levels.
var firebotRoles = map[string]string{
	"broadcaster": router.Broadcaster,
	"mod":         router.Moderator,
	"vip":         router.VIP,
	"sub":         router.Subscriber,
	"tier1":       router.Subscriber,
	"tier2":       router.Subscriber,
	"tier3":       router.Subscriber,
	// Mixer-era ids Firebot still maps (mapMixerRoleIdToTwitchRoleId).
	"Subscriber":    router.Subscriber,
	"Mod":           router.Moderator,
	"ChannelEditor": router.Moderator,
	"Owner":         router.Broadcaster,
}

var fbPermOrder = map[string]int{router.Everyone: 0, router.Subscriber: 1, router.VIP: 2, router.Moderator: 3, router.Broadcaster: 4}

// firebotPermission turns a command's restrictions into a level, what it
// was in Firebot's words, and what could not be carried.
func firebotPermission(rd *fbRestrictions) (perm, source string, attention []string) {
	perm = router.Everyone
	if rd == nil || len(rd.Restrictions) == 0 {
		return perm, "everyone", nil
	}
	if rd.Mode == "none" {
		attention = append(attention, "Firebot ran it only when none of its restrictions passed; Waddle cannot invert a permission, so it is open to everyone")
		return perm, "none of: " + restrictionTypes(rd), attention
	}
	var srcParts []string
	for _, r := range rd.Restrictions {
		if r.Type != "firebot:permissions" {
			attention = append(attention, fmt.Sprintf("the restriction %s is not imported", r.Type))
			continue
		}
		if r.Mode == "viewer" {
			srcParts = append(srcParts, "viewer "+r.Username)
			perm = fbMaxPerm(perm, router.Broadcaster)
			attention = append(attention, fmt.Sprintf("only the viewer %q could use it; Waddle has no per-viewer permission, so it is limited to the broadcaster", r.Username))
			continue
		}
		level := ""
		var unknown []string
		for _, id := range r.RoleIDs {
			srcParts = append(srcParts, id)
			l, ok := firebotRoles[id]
			if !ok {
				if id == "viewerlistbot" {
					continue
				}
				unknown = append(unknown, id)
				continue
			}
			if level == "" || fbPermOrder[l] < fbPermOrder[level] {
				level = l
			}
		}
		if len(unknown) > 0 {
			if level == "" {
				level = router.Moderator
			}
			attention = append(attention, fmt.Sprintf("custom or team roles (%s) have no Waddle level; it is limited to %s", strings.Join(unknown, ", "), level))
		}
		if level != "" {
			perm = fbMaxPerm(perm, level)
		}
	}
	if rd.Mode == "any" && len(rd.Restrictions) > 1 {
		attention = append(attention, "Firebot needed any one of its restrictions; Waddle applies the strictest level")
	}
	if len(srcParts) == 0 {
		srcParts = append(srcParts, restrictionTypes(rd))
	}
	return perm, strings.Join(srcParts, ", "), attention
}

func restrictionTypes(rd *fbRestrictions) string {
	var ts []string
	for _, r := range rd.Restrictions {
		ts = append(ts, r.Type)
	}
	return strings.Join(ts, ", ")
}

func fbMaxPerm(a, b string) string {
	if fbPermOrder[b] > fbPermOrder[a] {
		return b
	}
	return a
}

// fbSeconds turns a Firebot cooldown (seconds, possibly fractional or null)
// into Waddle's whole seconds, 0..86400.
func fbSeconds(v *float64) int {
	if v == nil || math.IsNaN(*v) || *v <= 0 {
		return 0
	}
	return int(math.Min(math.Ceil(*v), 86400))
}

// command translates one Firebot command, or says why it is skipped.
func (fr *firebotReader) command(c fbCommand) {
	label := c.Trigger
	if label == "" {
		label = c.ID
	}
	skip := func(reason string) {
		fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "command", Name: label, Reason: reason})
	}
	if c.TriggerIsRegex {
		skip("its trigger is a regular expression; Waddle commands are names")
		return
	}
	name, ok := firebotCommandName(c.Trigger)
	if !ok {
		skip(fmt.Sprintf("the trigger %q cannot be a Waddle command name (letters, digits and _, up to %d)", c.Trigger, MaxNameLen))
		return
	}
	chat, err := firebotEffects(c.Effects)
	if err != nil {
		skip("its effects cannot be read: " + err.Error())
		return
	}
	if chat.message == "" {
		if len(chat.others) == 0 {
			skip("it has no effects")
		} else {
			skip("it has no chat message; its effects cannot run in Waddle: " + strings.Join(chat.others, ", "))
		}
		return
	}
	cmd := Command{Name: name, Original: chat.message, Enabled: c.Active == nil || *c.Active}
	cmd.Response, cmd.Attention = fr.translate(chat.message)
	cmd.Attention = append(cmd.Attention, chat.attention...)
	if len(chat.others) > 0 {
		cmd.Attention = append(cmd.Attention, "its other effects are not imported: "+strings.Join(chat.others, ", "))
	}
	if c.ScanWholeMessage {
		cmd.Attention = append(cmd.Attention, "Firebot ran it when the trigger appeared anywhere in a message; Waddle runs it when a message starts with it")
	}
	for _, sc := range c.SubCommands {
		cmd.Attention = append(cmd.Attention, fmt.Sprintf("its subcommand %q is not imported", sc.Arg))
	}
	if other, ok := fr.names[name]; ok {
		skip(fmt.Sprintf("it would be named %s in Waddle, as %s is", name, other))
		return
	}
	seen := map[string]bool{name: true}
	for _, a := range c.Aliases {
		an, ok := firebotCommandName(a)
		if !ok {
			cmd.Attention = append(cmd.Attention, fmt.Sprintf("the alias %q cannot be a Waddle command name and is left out", a))
			continue
		}
		if other, taken := fr.names[an]; taken {
			cmd.Attention = append(cmd.Attention, fmt.Sprintf("the alias %q is left out: %s is already %s's name or alias", a, an, other))
			continue
		}
		if !seen[an] {
			seen[an] = true
			cmd.Aliases = append(cmd.Aliases, an)
		}
	}
	if c.Cooldown != nil {
		cmd.GlobalCooldown = fbSeconds(c.Cooldown.Global)
		cmd.UserCooldown = fbSeconds(c.Cooldown.User)
	}
	var att []string
	cmd.Permission, cmd.SourceLevel, att = firebotPermission(c.RestrictionData)
	cmd.Attention = append(cmd.Attention, att...)
	if c.Count > 0 && c.Count < math.MaxInt64 {
		cmd.Count = int64(c.Count)
	}
	if len(fr.b.Commands) >= MaxCommands {
		skip(fmt.Sprintf("more than %d commands", MaxCommands))
		return
	}
	if fr.names == nil {
		fr.names = map[string]string{}
	}
	for n := range seen {
		fr.names[n] = label
	}
	fr.b.Commands = append(fr.b.Commands, cmd)
}

// firebotCommandName turns a trigger ("!Hello", "?so") into a Waddle name.
// A hyphen becomes an underscore; anything else outside [a-z0-9_] makes it
// unusable.
func firebotCommandName(trigger string) (string, bool) {
	s := strings.TrimSpace(trigger)
	s = strings.TrimLeft(s, "!?~#.$%^&*+=-/\\|:;")
	return firebotName(s)
}

// firebotName lower-cases a name and checks it against [a-z0-9_]{1,32},
// turning hyphens and spaces into underscores.
func firebotName(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == ' ':
			b.WriteByte('_')
		default:
			return "", false
		}
	}
	n := b.String()
	if n == "" || len(n) > MaxNameLen {
		return "", false
	}
	return n, true
}

// readCommands reads chat/commands.json.
func (fr *firebotReader) readCommands(p fbPart) error {
	var doc struct {
		CustomCommands map[string]json.RawMessage `json:"customCommands"`
	}
	if err := fbDecodeJSON(p, &doc); err != nil {
		return err
	}
	// The file is keyed by id; keep the commands in trigger order so the
	// preview is stable.
	cmds := make([]fbCommand, 0, len(doc.CustomCommands))
	for id, raw := range doc.CustomCommands {
		var c fbCommand
		if err := json.Unmarshal(raw, &c); err != nil {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "command", Name: id, Reason: "cannot be read: " + err.Error()})
			continue
		}
		if c.ID == "" {
			c.ID = id
		}
		cmds = append(cmds, c)
	}
	sort.Slice(cmds, func(i, j int) bool {
		if cmds[i].Trigger != cmds[j].Trigger {
			return cmds[i].Trigger < cmds[j].Trigger
		}
		return cmds[i].ID < cmds[j].ID
	})
	for _, c := range cmds {
		fr.command(c)
	}
	return nil
}
