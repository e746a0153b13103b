package slacktest

import (
	"slices"
	"strings"
)

// UserGroup is a Slack user group.
type UserGroup struct {
	ID, Name, Handle string
	Users            []string
	Disabled         bool
}

// userGroups is the workspace's user groups and what the app may do with
// them; Server.mu guards it.
type userGroups struct {
	groups    map[string]*UserGroup
	order     []string
	noWrite   bool            // the token lacks usergroups:write
	denied    bool            // the workspace lets only admins manage user groups
	workspace map[string]bool // members who may join a group; nil: any U… or W… id
}

func (s *Server) ug() *userGroups {
	if s.groups == nil {
		s.groups = &userGroups{groups: map[string]*UserGroup{}}
	}
	return s.groups
}

// AddUserGroup creates a user group (S…) with its members.
func (s *Server) AddUserGroup(g UserGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.ug()
	g.Users = append([]string{}, g.Users...)
	if _, ok := u.groups[g.ID]; !ok {
		u.order = append(u.order, g.ID)
	}
	u.groups[g.ID] = &g
}

// SetUserGroupMembers replaces a group's members, as someone editing it in
// Slack by hand.
func (s *Server) SetUserGroupMembers(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.ug().groups[id]; g != nil {
		g.Users = append([]string{}, users...)
	}
}

// UserGroupMembers returns a group's members.
func (s *Server) UserGroupMembers(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.ug().groups[id]; g != nil {
		return append([]string{}, g.Users...)
	}
	return nil
}

// DeleteUserGroup removes a group, as an admin deleting it in Slack.
func (s *Server) DeleteUserGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ug().groups, id)
}

// SetUserGroupRights says whether the token has usergroups:write and
// whether the workspace lets the app manage user groups.
func (s *Server) SetUserGroupRights(write, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ug().noWrite, s.ug().denied = !write, !allowed
}

// SetWorkspaceMembers limits who may be put in a group.
func (s *Server) SetWorkspaceMembers(users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ug().workspace = map[string]bool{}
	for _, u := range users {
		s.ug().workspace[u] = true
	}
}

// usergroupsAPI answers usergroups.list, usergroups.users.list and
// usergroups.users.update as Slack does; nil for other methods. s.mu is held.
func (s *Server) usergroupsAPI(c *Call, fail func(string, ...string) map[string]any, ok func(map[string]any) map[string]any) map[string]any {
	u := s.ug()
	arg := func(k string) string {
		if c.Form != nil {
			return c.Form.Get(k)
		}
		v, _ := c.JSON[k].(string)
		return v
	}
	view := func(g *UserGroup) map[string]any {
		return map[string]any{"id": g.ID, "team_id": "T1", "name": g.Name, "handle": g.Handle, "users": append([]string{}, g.Users...),
			"user_count": len(g.Users), "date_delete": map[bool]int{true: 1, false: 0}[g.Disabled]}
	}
	switch c.Method {
	case "usergroups.list":
		out := []any{}
		for _, id := range u.order {
			if g := u.groups[id]; g != nil && (!g.Disabled || arg("include_disabled") == "true") {
				out = append(out, view(g))
			}
		}
		return ok(map[string]any{"usergroups": out})
	case "usergroups.users.list":
		g := u.groups[arg("usergroup")]
		if g == nil || (g.Disabled && arg("include_disabled") != "true") {
			return fail("no_such_subteam")
		}
		return ok(map[string]any{"users": append([]string{}, g.Users...)})
	case "usergroups.users.update":
		if u.noWrite {
			v := fail("missing_scope")
			v["needed"], v["provided"] = "usergroups:write", "chat:write,usergroups:read"
			return v
		}
		if u.denied {
			return fail("permission_denied")
		}
		g := u.groups[arg("usergroup")]
		if g == nil {
			return fail("no_such_subteam")
		}
		raw := arg("users")
		if strings.TrimSpace(raw) == "" {
			return fail("invalid_users") // Slack: use usergroups.disable to empty a group
		}
		users := strings.Split(raw, ",")
		for _, id := range users {
			if id == "" || !(strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W")) {
				return fail("invalid_users")
			}
			if u.workspace != nil && !u.workspace[id] {
				return fail("failed_for_some_users")
			}
		}
		slices.Sort(users)
		g.Users = slices.Compact(users)
		return ok(map[string]any{"usergroup": view(g)})
	}
	return nil
}
