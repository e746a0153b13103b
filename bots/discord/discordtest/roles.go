package discordtest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Discord's permission bits the role calls check.
const (
	PermAdministrator int64 = 1 << 3
	PermManageRoles   int64 = 1 << 28
)

// Role is a guild role.
type Role struct {
	ID          string
	Name        string
	Position    int
	Permissions int64
	Managed     bool // managed by an integration (a bot's own role, a booster role)
}

// Guild is a guild's roles and members as Discord keeps them, answering the
// role calls the way Discord does: GET /guilds/{id}/roles (with @everyone,
// whose id is the guild's), GET /users/@me (BotID), GET
// /guilds/{id}/members/{user} and the member list (GET
// /guilds/{id}/members?limit=&after=), and PUT and DELETE
// /guilds/{id}/members/{user}/roles/{role}, which refuse what Discord
// refuses: 404 Unknown Role (10011) and Unknown Member (10007), 403 Missing
// Permissions (50013) when the bot lacks Manage Roles or the role is
// managed or at or above the bot's highest role. Answers queued with Fail
// come first. Install it with REST.SetOverride(g.Serve). Its methods are
// safe for concurrent use.
type Guild struct {
	id string

	mu       sync.Mutex
	everyone int64
	roles    []Role
	members  map[string][]string // user → role ids
	queued   []queued
}

type queued struct {
	status int
	body   string
}

// NewGuild returns a guild with the bot as a member holding botRoles;
// everyone is the permissions of @everyone.
func NewGuild(id string, everyone int64, roles ...Role) *Guild {
	return &Guild{id: id, everyone: everyone, roles: roles, members: map[string][]string{BotID: nil}}
}

// SetMember puts user in the guild with exactly roles.
func (g *Guild) SetMember(user string, roles ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[user] = append([]string{}, roles...)
}

// MemberRoles returns user's roles, or nil when user is not a member.
func (g *Guild) MemberRoles(user string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.members[user]...)
}

// HasRole reports whether user has role.
func (g *Guild) HasRole(user, role string) bool {
	return slices.Contains(g.MemberRoles(user), role)
}

// Fail makes the next role add or remove answer status with body (a
// Discord error object) instead, in order of calls.
func (g *Guild) Fail(status int, body string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queued = append(g.queued, queued{status, body})
}

// RateLimit makes the next role add or remove answer 429 with retry_after
// seconds, as Discord does.
func (g *Guild) RateLimit(retryAfter float64) {
	g.Fail(http.StatusTooManyRequests, `{"message":"You are being rate limited.","retry_after":`+strconv.FormatFloat(retryAfter, 'f', -1, 64)+`,"global":false}`)
}

func fail(w http.ResponseWriter, status int, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg, "code": code})
}

// Serve answers the role calls for the guild; it reports whether it did.
func (g *Guild) Serve(w http.ResponseWriter, r Request) bool {
	if r.Method == http.MethodGet && r.Path == "/users/@me" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"`+BotID+`","username":"waddle","bot":true}`)
		return true
	}
	rest, ok := strings.CutPrefix(r.Path, "/guilds/"+g.id+"/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && rest == "roles":
		out := []map[string]any{{"id": g.id, "name": "@everyone", "position": 0, "permissions": strconv.FormatInt(g.everyone, 10), "managed": false}}
		for _, ro := range g.roles {
			out = append(out, map[string]any{"id": ro.ID, "name": ro.Name, "position": ro.Position, "permissions": strconv.FormatInt(ro.Permissions, 10), "managed": ro.Managed})
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && rest == "members":
		json.NewEncoder(w).Encode(g.list(r.Query))
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "members":
		roles, ok := g.members[parts[1]]
		if !ok {
			fail(w, http.StatusNotFound, 10007, "Unknown Member")
			return true
		}
		json.NewEncoder(w).Encode(member(parts[1], roles))
	case (r.Method == http.MethodPut || r.Method == http.MethodDelete) && len(parts) == 4 && parts[0] == "members" && parts[2] == "roles":
		g.write(w, r.Method == http.MethodPut, parts[1], parts[3])
	default:
		return false
	}
	return true
}

func member(user string, roles []string) map[string]any {
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{"user": map[string]any{"id": user, "username": "user" + user}, "roles": roles}
}

// list is GET /guilds/{id}/members: members with ids above after, by id,
// at most limit (1 to 1000, default 1); g.mu is held.
func (g *Guild) list(query string) []any {
	q, _ := urlQuery(query)
	n, err := strconv.Atoi(q["limit"])
	if err != nil || n < 1 {
		n = 1
	}
	n = min(n, 1000)
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		if q["after"] == "" || snowflakeLess(q["after"], id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if a == b {
			return 0
		}
		if snowflakeLess(a, b) {
			return -1
		}
		return 1
	})
	out := []any{}
	for _, id := range ids[:min(n, len(ids))] {
		out = append(out, member(id, g.members[id]))
	}
	return out
}

func snowflakeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func urlQuery(raw string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			out[k] = v
		}
	}
	return out, nil
}

// write adds or removes a role; g.mu is held.
func (g *Guild) write(w http.ResponseWriter, add bool, user, roleID string) {
	if len(g.queued) > 0 {
		q := g.queued[0]
		g.queued = g.queued[1:]
		if q.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Scope", "user")
		}
		w.WriteHeader(q.status)
		io.WriteString(w, q.body)
		return
	}
	idx := slices.IndexFunc(g.roles, func(r Role) bool { return r.ID == roleID })
	if idx < 0 {
		fail(w, http.StatusNotFound, 10011, "Unknown Role")
		return
	}
	roles, ok := g.members[user]
	if !ok {
		fail(w, http.StatusNotFound, 10007, "Unknown Member")
		return
	}
	perms, top := g.everyone, 0
	for _, r := range g.roles {
		if slices.Contains(g.members[BotID], r.ID) {
			perms |= r.Permissions
			top = max(top, r.Position)
		}
	}
	role := g.roles[idx]
	if perms&(PermAdministrator|PermManageRoles) == 0 || role.Managed || role.Position >= top {
		fail(w, http.StatusForbidden, 50013, "Missing Permissions")
		return
	}
	if add && !slices.Contains(roles, roleID) {
		g.members[user] = append(roles, roleID)
	}
	if !add {
		g.members[user] = slices.DeleteFunc(roles, func(r string) bool { return r == roleID })
	}
	w.WriteHeader(http.StatusNoContent)
}
