package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

// What the bot pages of a community share. Each page has its own file:
// commands.go, moderation.go, points.go, executions.go, servers.go and
// simulator.go (and modules.go, overlay_hub.go). Members may look; owners and
// admins may change (routes.go puts the writes behind requireManager).

func (h *Handler) botNav(r *http.Request, current string) views.CommunityNav {
	m := membershipOf(r)
	return views.CommunityNav{CommunityID: m.ID, Name: m.Name, Current: current}
}

func botPath(cid int64, page string) string { return fmt.Sprintf("/c/%d/%s", cid, page) }

// formInt reads a whole number from a form field; empty gives def.
func formInt(v url.Values, field, label string, def int) (int, string, error) {
	s := strings.TrimSpace(v.Get(field))
	if s == "" {
		return def, s, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1_000_000_000 || n > 1_000_000_000 {
		return 0, s, problem.Invalidf(field, "%s is a whole number; %q is not.", label, runes.Truncate(s, 20, "…"))
	}
	return n, s, nil
}
