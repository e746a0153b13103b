package router

import (
	"strings"
	"unicode"
)

// Invocation is a command found in a chat message.
type Invocation struct {
	Name   string   // lower-case, without the prefix
	Args   []string // split like a shell: quotes keep spaces
	Remote bool     // #name: a community module outside the process
	Raw    string   // the arguments as typed
}

// maxArgs bounds how many arguments a message may carry.
const maxArgs = 32

// ParseCommand reads "!name args" (with the community's prefix) or "#name args".
// ok is false for a message that is not a command.
func ParseCommand(prefix, text string) (Invocation, bool) {
	var inv Invocation
	switch {
	case prefix != "" && strings.HasPrefix(text, prefix):
		text = text[len(prefix):]
	case strings.HasPrefix(text, "#"):
		text = text[1:]
		inv.Remote = true
	default:
		return inv, false
	}
	end := strings.IndexFunc(text, unicode.IsSpace)
	name := text
	if end >= 0 {
		name, inv.Raw = text[:end], strings.TrimSpace(text[end:])
	}
	name = strings.ToLower(name)
	if !validName(name) {
		return Invocation{}, false
	}
	inv.Name = name
	inv.Args = SplitArgs(inv.Raw)
	return inv, true
}

// validName accepts 1 to 32 of a-z, 0-9 and _.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// SplitArgs splits s like a shell: spaces separate, "double" or 'single'
// quotes keep spaces, a backslash escapes the next character. An unclosed
// quote runs to the end. At most maxArgs arguments; the rest join the last.
func SplitArgs(s string) []string {
	var (
		args  []string
		cur   strings.Builder
		quote rune
		in    bool // inside an argument (possibly empty, as "")
		esc   bool
	)
	flush := func() {
		if in {
			args = append(args, cur.String())
			cur.Reset()
			in = false
		}
	}
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case unicode.IsSpace(r):
			flush()
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	flush()
	if len(args) > maxArgs {
		args = append(args[:maxArgs-1], strings.Join(args[maxArgs-1:], " "))
	}
	return args
}

// reservedNames are commands the platforms keep for themselves.
var reservedNames = map[string]bool{
	"ban": true, "unban": true, "timeout": true, "untimeout": true, "mod": true, "unmod": true, "vip": true, "unvip": true,
	"clear": true, "color": true, "commercial": true, "delete": true, "disconnect": true, "emoteonly": true, "emoteonlyoff": true,
	"followers": true, "followersoff": true, "help": false, "host": true, "unhost": true, "marker": true, "me": true,
	"mods": true, "vips": true, "raid": true, "unraid": true, "slow": true, "slowoff": true, "subscribers": true,
	"subscribersoff": true, "uniquechat": true, "uniquechatoff": true, "w": true, "whisper": true, "block": true,
	"unblock": true, "announce": true, "shoutout": true, "warn": true, "pin": true, "kick": true, "nick": true,
	"shrug": true, "tableflip": true, "unflip": true, "giphy": true, "tts": true, "spoiler": true, "thread": true,
	"remind": true, "status": true, "away": true, "dnd": true, "invite": true, "leave": true, "msg": true, "topic": true,
}

// Reserved reports whether a platform keeps name for itself.
func Reserved(name string) bool { return reservedNames[name] }
