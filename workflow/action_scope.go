package workflow

import (
	"strings"

	"github.com/waddle/waddle/router"
)

// chatTrigger is where a chat-born trigger came from, as its payload
// (scope "trigger") carries it: platform, server, channel, user_id, and
// optionally user_name, user_display_name and user_roles.
type chatTrigger struct {
	Platform, Server, Channel string
	User                      router.User
}

// triggerOf reads the trigger's chat fields; missing ones are empty.
func triggerOf(scope map[string]any) chatTrigger {
	m, _ := scope["trigger"].(map[string]any)
	str := func(k string) string { s, _ := m[k].(string); return s }
	t := chatTrigger{Platform: str("platform"), Server: str("server"), Channel: str("channel"),
		User: router.User{ID: str("user_id"), Name: str("user_name"), DisplayName: str("user_display_name")}}
	if roles, ok := m["user_roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok {
				t.User.Roles = append(t.User.Roles, s)
			}
		}
	} else if roles, ok := m["user_roles"].([]string); ok {
		t.User.Roles = roles
	}
	if t.User.Name == "" {
		t.User.Name = t.User.ID
	}
	return t
}

// lookupPath finds a dotted path ("vars.wait", "nodes.n1.items.0") in the scope.
func lookupPath(scope map[string]any, path string) (any, bool) {
	return lookup(scope, strings.Split(path, "."))
}

// validPath reports whether a path is dotted names or indexes: "vars.wait".
func validPath(path string) bool {
	if path == "" || len(path) > 200 {
		return false
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			return false
		}
		for _, c := range part {
			if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func validPlatform(p string) bool {
	return p == router.Twitch || p == router.Discord || p == router.Slack
}
