package handlers

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// The bot pages of a community: commands, moderation rules, points, the
// execution log, linked servers and the chat simulator. Members may look;
// owners and admins may change (routes.go puts the writes behind requireManager).

// builtinNames are the router's built-in commands, in the order its help lists them.
var builtinNames = []string{"help", "points", "leaderboard", "quote", "so", "give", "commands", "alias", "counter"}

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
		return 0, s, problem.Invalidf(field, "%s is a whole number; %q is not.", label, truncateRunes(s, 20))
	}
	return n, s, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ---- Commands ----

func commandRow(cid int64, prefix string, c *router.Command, canManage bool) views.CommandRow {
	return views.CommandRow{CommunityID: cid, ID: c.ID, Prefix: prefix, Name: c.Name, Aliases: c.Aliases, Response: c.Response,
		Modules: c.Modules, Parallel: c.Parallel, Permission: c.Permission, UserCooldown: int(c.UserCooldown / time.Second), GlobalCooldown: int(c.GlobalCooldown / time.Second),
		Platforms: c.Platforms, Enabled: c.Enabled, Counter: c.Counter, CanManage: canManage,
		Permissions: router.Permissions, AllPlatforms: router.Platforms}
}

// editing turns a row into its edit form, filled from the command.
func editing(row views.CommandRow) views.CommandRow {
	row.Editing = true
	row.Edit = views.CommandForm{Name: row.Name, Response: row.Response, Permission: row.Permission,
		UserCooldown: strconv.Itoa(row.UserCooldown), GlobalCooldown: strconv.Itoa(row.GlobalCooldown),
		Platforms: row.Platforms, Enabled: row.Enabled}
	return row
}

// commandForm reads the create or edit form.
func commandForm(v url.Values) (router.CommandInput, views.CommandForm, error) {
	f := views.CommandForm{Name: v.Get("name"), Response: v.Get("response"), Permission: v.Get("permission"),
		Platforms: v["platforms"], Enabled: v.Get("enabled") != ""}
	in := router.CommandInput{Name: f.Name, Response: f.Response, Permission: f.Permission, Enabled: f.Enabled, Platforms: f.Platforms}
	var err error
	if in.UserCooldown, f.UserCooldown, err = formInt(v, "user_cooldown", "A cooldown", 0); err != nil {
		return in, f, err
	}
	if in.GlobalCooldown, f.GlobalCooldown, err = formInt(v, "global_cooldown", "A cooldown", 0); err != nil {
		return in, f, err
	}
	if len(f.Platforms) > 10 {
		return in, f, problem.Invalidf("platforms", "Choose among %s.", strings.Join(router.Platforms, ", "))
	}
	// A platform ticked twice counts once.
	in.Platforms = nil
	for _, p := range f.Platforms {
		if !slices.Contains(in.Platforms, p) {
			in.Platforms = append(in.Platforms, p)
		}
	}
	return in, f, nil
}

// commandsView assembles the commands page; edit replaces the row of the same command.
func (h *Handler) commandsView(r *http.Request, create views.CommandForm, prefixErr string, edit *views.CommandRow) (views.CommandsPage, error) {
	ctx := r.Context()
	m := membershipOf(r)
	can := m.Role.CanManage()
	cmds, err := h.settings.Commands(ctx, m.ID)
	if err != nil {
		return views.CommandsPage{}, err
	}
	prefix, err := h.settings.Prefix(ctx, m.ID)
	if err != nil {
		return views.CommandsPage{}, err
	}
	if create.Permission == "" {
		create.Permission = router.Everyone
		create.Enabled = true
		create.UserCooldown, create.GlobalCooldown = "0", "0"
		create.Platforms = router.Platforms
	}
	p := views.CommandsPage{Chrome: h.chrome(r, "Commands · "+m.Name, "communities"), Nav: h.botNav(r, "commands"), CanManage: can,
		Prefix: prefix, Prefixes: router.Prefixes, PrefixError: prefixErr, Builtins: builtinNames, Create: create,
		Permissions: router.Permissions, Platforms: router.Platforms}
	for _, c := range cmds {
		row := commandRow(m.ID, prefix, c, can)
		if edit != nil && edit.ID == c.ID {
			row = *edit
			row.Prefix = prefix
		}
		p.Commands = append(p.Commands, row)
	}
	return p, nil
}

func (h *Handler) renderCommands(w http.ResponseWriter, r *http.Request, st int, create views.CommandForm, prefixErr string, edit *views.CommandRow) {
	p, err := h.commandsView(r, create, prefixErr, edit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.Commands(p))
}

func (h *Handler) commandsPage(w http.ResponseWriter, r *http.Request) {
	h.renderCommands(w, r, http.StatusOK, views.CommandForm{}, "", nil)
}

// commandOf loads the command {id} of the community, with the prefix.
func (h *Handler) commandOf(r *http.Request) (*router.Command, string, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, "", router.ErrCommandNotFound
	}
	cid := membershipOf(r).ID
	cmd, err := h.settings.CommandByID(r.Context(), cid, id)
	if err != nil {
		return nil, "", err
	}
	prefix, err := h.settings.Prefix(r.Context(), cid)
	if err != nil {
		return nil, "", err
	}
	return cmd, prefix, nil
}

func (h *Handler) createCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.CommandForm
	err := parseForm(w, r)
	var cmd *router.Command
	if err == nil {
		var in router.CommandInput
		if in, f, err = commandForm(r.PostForm); err == nil {
			cmd, err = h.settings.CreateCommand(r.Context(), auditActor(r), m.ID, in)
		}
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		f.Error = msg
		if f.Permission == "" {
			f.Permission = router.Everyone // keeps the typed values: commandsView fills defaults only into an untouched form
		}
		h.renderCommands(w, r, status(err), f, "", nil)
		return
	}
	prefix, _ := h.settings.Prefix(r.Context(), m.ID)
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Command %s%s created.", prefix, cmd.Name))
	seeOther(w, r, botPath(m.ID, "commands"))
}

// commandRowPage answers GET /commands/{id}: the row for HTMX (cancelling an edit), the page otherwise.
func (h *Handler) commandRowPage(w http.ResponseWriter, r *http.Request) {
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, botPath(membershipOf(r).ID, "commands"), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, views.CommandItem(commandRow(membershipOf(r).ID, prefix, cmd, membershipOf(r).Role.CanManage())))
}

// editCommandPage shows a command's edit form: the row alone for HTMX, in the whole page otherwise.
func (h *Handler) editCommandPage(w http.ResponseWriter, r *http.Request) {
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row := editing(commandRow(membershipOf(r).ID, prefix, cmd, true))
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.CommandItem(row))
		return
	}
	h.renderCommands(w, r, http.StatusOK, views.CommandForm{}, "", &row)
}

// rowAnswer answers a change to one command: the row (with the error, if
// any) for HTMX, a redirect or the page with the error otherwise.
func (h *Handler) rowAnswer(w http.ResponseWriter, r *http.Request, row views.CommandRow, err error, flash string) {
	m := membershipOf(r)
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		if row.Editing {
			row.Edit.Error = msg
		} else {
			row.Error = msg
		}
		if isHTMX(r) {
			// HTMX swaps only 2xx answers; the row carries the reason.
			h.render(w, r, http.StatusOK, views.CommandItem(row))
			return
		}
		h.renderCommands(w, r, status(err), views.CommandForm{}, "", &row)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.CommandItem(row))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, flash)
	seeOther(w, r, botPath(m.ID, "commands"))
}

func (h *Handler) updateCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row := commandRow(m.ID, prefix, cmd, true)
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	in, f, err := commandForm(r.PostForm)
	if err == nil {
		// The form edits a text command; the modules a command runs stay as they are.
		in.Name, in.Modules, in.Parallel = cmd.Name, cmd.Modules, cmd.Parallel
		var updated *router.Command
		if updated, err = h.settings.UpdateCommand(r.Context(), auditActor(r), m.ID, cmd.ID, in); err == nil {
			updated.Aliases = cmd.Aliases
			row = commandRow(m.ID, prefix, updated, true)
		}
	}
	if err != nil {
		f.Name = cmd.Name
		row.Editing, row.Edit = true, f
	}
	h.rowAnswer(w, r, row, err, fmt.Sprintf("Command %s%s saved.", prefix, cmd.Name))
}

func (h *Handler) toggleCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := router.CommandInput{Name: cmd.Name, Response: cmd.Response, Modules: cmd.Modules, Parallel: cmd.Parallel,
		Permission: cmd.Permission, UserCooldown: int(cmd.UserCooldown / time.Second),
		GlobalCooldown: int(cmd.GlobalCooldown / time.Second), Enabled: !cmd.Enabled, Platforms: cmd.Platforms}
	row := commandRow(m.ID, prefix, cmd, true)
	updated, err := h.settings.UpdateCommand(r.Context(), auditActor(r), m.ID, cmd.ID, in)
	if err == nil {
		updated.Aliases = cmd.Aliases
		row = commandRow(m.ID, prefix, updated, true)
	}
	state := "disabled"
	if !cmd.Enabled {
		state = "enabled"
	}
	h.rowAnswer(w, r, row, err, fmt.Sprintf("Command %s%s %s.", prefix, cmd.Name, state))
}

func (h *Handler) deleteCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err == nil {
		err = h.settings.DeleteCommand(r.Context(), auditActor(r), m.ID, cmd.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, fmt.Sprintf("Command %s%s deleted.", prefix, cmd.Name), botPath(m.ID, "commands"))
}

func (h *Handler) addAlias(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	alias := strings.TrimSpace(r.PostForm.Get("alias"))
	if len(alias) > 100 {
		err = problem.Invalidf("alias", "An alias has 1 to 32 letters, digits or underscores.")
	} else {
		err = h.settings.AddAlias(r.Context(), auditActor(r), m.ID, alias, cmd.Name)
	}
	row := commandRow(m.ID, prefix, cmd, true)
	if err == nil {
		if cmd, _, err = h.commandOf(r); err != nil {
			h.fail(w, r, err)
			return
		}
		row = commandRow(m.ID, prefix, cmd, true)
	}
	h.rowAnswer(w, r, row, err, fmt.Sprintf("%s%s now also runs %s%s.", prefix, strings.ToLower(strings.TrimPrefix(alias, "!")), prefix, cmd.Name))
}

func (h *Handler) deleteAlias(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	alias := chiURLParam(r, "alias")
	if !slices.Contains(cmd.Aliases, alias) {
		h.fail(w, r, problem.New(problem.NotFound, "No such alias."))
		return
	}
	if err := h.settings.DeleteAlias(r.Context(), auditActor(r), m.ID, alias); err != nil {
		h.fail(w, r, err)
		return
	}
	cmd.Aliases = slices.DeleteFunc(slices.Clone(cmd.Aliases), func(a string) bool { return a == alias })
	h.rowAnswer(w, r, commandRow(m.ID, prefix, cmd, true), nil, fmt.Sprintf("Alias %s%s removed.", prefix, alias))
}

func (h *Handler) setPrefix(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	err := parseForm(w, r)
	prefix := ""
	if err == nil {
		prefix = r.PostForm.Get("prefix")
		err = h.settings.SetPrefix(r.Context(), auditActor(r), m.ID, prefix)
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		h.renderCommands(w, r, status(err), views.CommandForm{}, msg, nil)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Commands now start with %s.", prefix))
	seeOther(w, r, botPath(m.ID, "commands"))
}

// ---- Moderation ----

var (
	ruleMatches = []string{router.MatchContains, router.MatchWord, router.MatchExact, router.MatchGlob, router.MatchRegex}
	ruleActions = []string{router.ActionDelete, router.ActionTimeout, router.ActionBan, router.ActionWarn, router.ActionReply}
)

func (h *Handler) renderModeration(w http.ResponseWriter, r *http.Request, st int, form views.RuleForm) {
	m := membershipOf(r)
	rules, err := h.settings.Rules(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	p := views.ModerationPage{Chrome: h.chrome(r, "Moderation · "+m.Name, "communities"), Nav: h.botNav(r, "moderation"),
		CanManage: can, Create: form, Matches: ruleMatches, Actions: ruleActions}
	for _, rl := range rules {
		p.Rules = append(p.Rules, views.RuleRow{CommunityID: m.ID, ID: rl.ID, Priority: rl.Priority, Match: rl.Match, Pattern: rl.Pattern,
			Action: rl.Action, TimeoutSeconds: rl.TimeoutSeconds, Response: rl.Response, ExemptModerators: rl.ExemptModerators,
			ExemptSubscribers: rl.ExemptSubscribers, Enabled: rl.Enabled, CanManage: can})
	}
	h.render(w, r, st, views.Moderation(p))
}

func (h *Handler) moderationPage(w http.ResponseWriter, r *http.Request) {
	h.renderModeration(w, r, http.StatusOK, views.RuleForm{Priority: "100", TimeoutSeconds: "600", ExemptModerators: true})
}

// maxPriority bounds a rule's priority (an integer column).
const maxPriority = 1_000_000

func (h *Handler) createRule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.RuleForm
	err := parseForm(w, r)
	if err == nil {
		v := r.PostForm
		f = views.RuleForm{Match: v.Get("match"), Pattern: v.Get("pattern"), Action: v.Get("action"), Response: v.Get("response"),
			ExemptModerators: v.Get("exempt_moderators") != "", ExemptSubscribers: v.Get("exempt_subscribers") != ""}
		in := router.RuleInput{Match: f.Match, Pattern: f.Pattern, Action: f.Action, Response: f.Response,
			ExemptModerators: f.ExemptModerators, ExemptSubscribers: f.ExemptSubscribers}
		in.Priority, f.Priority, err = formInt(v, "priority", "The priority", 100)
		if err == nil && (in.Priority < -maxPriority || in.Priority > maxPriority) {
			err = problem.Invalidf("priority", "The priority is between %d and %d.", -maxPriority, maxPriority)
		}
		if err == nil {
			in.TimeoutSeconds, f.TimeoutSeconds, err = formInt(v, "timeout_seconds", "A timeout", 0)
		}
		if err == nil && in.Action != router.ActionTimeout {
			in.TimeoutSeconds = 0 // the field only means something for timeouts
		}
		if err == nil {
			_, err = h.settings.CreateRule(r.Context(), auditActor(r), m.ID, in)
		}
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		f.Error = msg
		h.renderModeration(w, r, status(err), f)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Rule added.")
	seeOther(w, r, botPath(m.ID, "moderation"))
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := pathID(r, "rid")
	if err == nil {
		err = h.settings.DeleteRule(r.Context(), auditActor(r), m.ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, "Rule deleted.", botPath(m.ID, "moderation"))
}

// ---- Points ----

const leaderboardSize = 25

func pointsRow(cid int64, v router.PointsValue, can bool) views.PointsValueRow {
	return views.PointsValueRow{CommunityID: cid, Key: v.Key, Points: v.Points, Default: v.Default, Custom: v.Custom, CanManage: can}
}

// renderPoints shows the page; errMsg goes to the row of badKey, or above the table.
func (h *Handler) renderPoints(w http.ResponseWriter, r *http.Request, st int, errMsg, badKey string) {
	m := membershipOf(r)
	ctx := r.Context()
	values, err := h.settings.PointsValues(ctx, m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	top, err := h.settings.Leaderboard(ctx, m.ID, leaderboardSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	p := views.PointsPage{Chrome: h.chrome(r, "Points · "+m.Name, "communities"), Nav: h.botNav(r, "points"), CanManage: can}
	for _, v := range values {
		row := pointsRow(m.ID, v, can)
		if v.Key == badKey {
			row.Error, errMsg = errMsg, ""
		}
		p.Values = append(p.Values, row)
	}
	p.Error = errMsg // an error not about a row of the table
	for i, s := range top {
		p.Leaderboard = append(p.Leaderboard, views.LeaderboardRow{Rank: i + 1, Name: s.Name, Platform: s.Platform, Points: s.Points})
	}
	h.render(w, r, st, views.Points(p))
}

func (h *Handler) pointsPage(w http.ResponseWriter, r *http.Request) {
	h.renderPoints(w, r, http.StatusOK, "", "")
}

func (h *Handler) setPointsValue(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	key := chiURLParam(r, "key")
	err := parseForm(w, r)
	if err == nil && strings.TrimSpace(r.PostForm.Get("points")) == "" {
		err = problem.Invalidf("points", "Give the points the event earns.")
	}
	if err == nil {
		var n int
		if n, _, err = formInt(r.PostForm, "points", "Points", 0); err == nil {
			err = h.settings.SetPointsValue(r.Context(), auditActor(r), m.ID, key, int64(n))
		}
	}
	_, known := router.DefaultPoints[key]
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		if isHTMX(r) && known {
			row, rerr := h.pointsValueRow(r.Context(), m.ID, key)
			if rerr != nil {
				h.fail(w, r, rerr)
				return
			}
			row.Error = msg
			h.render(w, r, http.StatusOK, views.PointsValueItem(row))
			return
		}
		if isHTMX(r) {
			h.fail(w, r, err)
			return
		}
		h.renderPoints(w, r, status(err), msg, key)
		return
	}
	if isHTMX(r) {
		row, err := h.pointsValueRow(r.Context(), m.ID, key)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, views.PointsValueItem(row))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Points for %s saved.", key))
	seeOther(w, r, botPath(m.ID, "points"))
}

func (h *Handler) pointsValueRow(ctx context.Context, cid int64, key string) (views.PointsValueRow, error) {
	values, err := h.settings.PointsValues(ctx, cid)
	if err != nil {
		return views.PointsValueRow{}, err
	}
	for _, v := range values {
		if v.Key == key {
			return pointsRow(cid, v, true), nil
		}
	}
	return views.PointsValueRow{}, problem.New(problem.NotFound, "No such event.")
}

// ---- Execution log ----

const execPageSize = 50

func parseExecFilter(r *http.Request) (router.ExecutionFilter, views.ExecutionFilter, error) {
	q := r.URL.Query()
	vf := views.ExecutionFilter{Command: strings.TrimSpace(q.Get("command")), User: strings.TrimSpace(q.Get("user")), Outcome: q.Get("outcome")}
	f := router.ExecutionFilter{Limit: execPageSize + 1}
	if len(vf.Command) > 33 {
		return f, vf, problem.Invalidf("command", "A command name has at most 32 characters.")
	}
	// Commands are logged without the prefix, in lower case.
	f.Command = strings.ToLower(strings.TrimLeft(vf.Command, strings.Join(router.Prefixes, "")))
	if len(vf.User) > 100 {
		return f, vf, problem.Invalidf("user", "A user name has at most 100 characters.")
	}
	f.User = vf.User
	if vf.Outcome != "" {
		if !slices.Contains(router.Outcomes, vf.Outcome) {
			return f, vf, problem.Invalidf("outcome", "Unknown outcome %q.", truncateRunes(vf.Outcome, 20))
		}
		f.Outcome = vf.Outcome
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.BeforeID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, vf, problem.Invalidf("before", "Bad page marker.")
		}
	}
	return f, vf, nil
}

func (h *Handler) executionsPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	base := botPath(m.ID, "executions")
	f, vf, ferr := parseExecFilter(r)
	var items []router.Execution
	if ferr == nil {
		var err error
		if items, err = h.settings.Executions(r.Context(), m.ID, f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var rows views.ExecutionRows
	if len(items) > execPageSize {
		items = items[:execPageSize]
		rows.MoreURL = views.ExecutionQuery(base, vf, items[len(items)-1].ID)
	}
	for _, x := range items {
		rows.Items = append(rows.Items, views.ExecutionRow{At: x.At.UTC().Format("2006-01-02 15:04:05 UTC"), Command: x.Command,
			Platform: x.Platform, User: x.User, Args: x.Args, Executor: x.Executor, Outcome: x.Outcome,
			Duration: fmt.Sprintf("%.1f ms", float64(x.Duration.Microseconds())/1000), Error: x.Error})
	}
	st := http.StatusOK
	if ferr != nil {
		st = http.StatusBadRequest
		vf.Error = message(ferr)
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "exec-rows" {
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		h.render(w, r, st, views.ExecutionTable(rows))
		return
	}
	h.render(w, r, st, views.Executions(views.ExecutionsPage{Chrome: h.chrome(r, "Execution log · "+m.Name, "communities"),
		Nav: h.botNav(r, "executions"), Action: base, Filter: vf, Outcomes: router.Outcomes, Rows: rows}))
}

// ---- Linked servers ----

func (h *Handler) renderServers(w http.ResponseWriter, r *http.Request, st int, form views.ServerForm) {
	m := membershipOf(r)
	es, err := h.settings.Entities(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	u, _ := userOf(r)
	p := views.ServersPage{Chrome: h.chrome(r, "Linked servers · "+m.Name, "communities"), Nav: h.botNav(r, "servers"),
		CanManage: can, CanLinkByHand: u.IsAdmin, Link: form, Platforms: router.Platforms}
	for _, e := range es {
		p.Servers = append(p.Servers, views.ServerRow{CommunityID: m.ID, ID: e.ID, Platform: e.Platform, Server: e.Server, Name: e.Name, CanManage: can})
	}
	if can {
		p.TwitchConnect = h.cfg.TwitchOAuth != nil
		p.SlackInstall = h.cfg.SlackOAuth != nil
		if h.cfg.DiscordAppID != "" {
			p.DiscordInstallURL = discordInstallURL(h.cfg.DiscordAppID)
		}
		if h.cfg.Links != nil && u.IsAdmin {
			// Guilds the Discord bot was added to, and the workspace of SLACK_BOT_TOKEN.
			for _, plat := range []string{router.Discord, router.Slack} {
				av, err := h.cfg.Links.Available(r.Context(), plat)
				if err != nil {
					h.fail(w, r, err)
					return
				}
				for _, a := range av {
					p.Available = append(p.Available, views.AvailableServer{Platform: plat, Server: a.Server, Name: a.Name})
				}
			}
		}
	}
	h.render(w, r, st, views.Servers(p))
}

func (h *Handler) serversPage(w http.ResponseWriter, r *http.Request) {
	h.renderServers(w, r, http.StatusOK, views.ServerForm{Platform: router.Twitch})
}

// errLinkByHand refuses a link by typed id to anyone but the hub's admins.
var errLinkByHand = problem.New(problem.Forbidden, "Only the hub's admins link servers by hand: a typed id proves no ownership. "+
	"Connect Twitch or Slack through their sign-in; for a Discord server, ask a hub admin to link it once the bot is in it.")

func (h *Handler) linkServer(w http.ResponseWriter, r *http.Request) {
	if u, _ := userOf(r); !u.IsAdmin {
		h.fail(w, r, errLinkByHand)
		return
	}
	m := membershipOf(r)
	var f views.ServerForm
	err := parseForm(w, r)
	var e router.Entity
	if err == nil {
		f = views.ServerForm{Platform: r.PostForm.Get("platform"), Server: strings.TrimSpace(r.PostForm.Get("server")), Name: strings.TrimSpace(r.PostForm.Get("name"))}
		e, err = h.settings.LinkEntity(r.Context(), auditActor(r), m.ID, f.Platform, f.Server, f.Name)
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		f.Error = msg
		h.renderServers(w, r, status(err), f)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s %s is linked to this community.", e.Platform, e.Server))
	seeOther(w, r, botPath(m.ID, "servers"))
}

func (h *Handler) unlinkServer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := pathID(r, "eid")
	if err == nil {
		err = h.settings.UnlinkEntity(r.Context(), auditActor(r), m.ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, "Server unlinked.", botPath(m.ID, "servers"))
}

// ---- Chat simulator ----

// simKinds are the events the simulator offers; amount says what its number field means.
var simKinds = []struct {
	kind   router.Kind
	label  string
	amount string // the Data key the number field fills; "" when unused
}{
	{router.ChatMessage, "chat message", ""},
	{router.Follow, "follow", ""},
	{router.Subscribe, "subscribe", ""},
	{router.GiftSub, "gift subscription", ""},
	{router.Cheer, "cheer (bits)", "bits"},
	{router.Raid, "raid (viewers)", "viewers"},
	{router.MemberJoin, "member joins", ""},
	{router.Reaction, "reaction", ""},
	{router.VoiceLeave, "leaves voice (minutes)", "minutes"},
	{router.Boost, "server boost", ""},
	{router.FileShare, "file share", ""},
	{router.AppMention, "app mention", ""},
}

var simBadges = []string{router.BadgeBroadcaster, router.BadgeModerator, router.BadgeVIP, router.BadgeSubscriber}

const (
	maxSimAmount = 1_000_000
	maxSimUser   = 50 // bytes; the router's user id, "sim:" and the name in lower case, has at most 100
)

func (h *Handler) simulatorView(r *http.Request, form views.SimForm, transcript []views.SimEntry) views.SimulatorPage {
	m := membershipOf(r)
	p := views.SimulatorPage{Chrome: h.chrome(r, "Chat simulator · "+m.Name, "communities"), Nav: h.botNav(r, "simulator"),
		CanLive: m.Role.CanManage(), Form: form, Platforms: router.Platforms, Badges: simBadges, Transcript: transcript}
	for _, k := range simKinds {
		p.Kinds = append(p.Kinds, views.SimKind{Value: string(k.kind), Label: k.label})
	}
	return p
}

func (h *Handler) simulatorPage(w http.ResponseWriter, r *http.Request) {
	form := views.SimForm{Platform: router.Twitch, User: "viewer", Kind: string(router.ChatMessage), DryRun: true}
	h.render(w, r, http.StatusOK, views.Simulator(h.simulatorView(r, form, nil)))
}

// simEvent reads the simulator form into an event.
func simEvent(v url.Values) (router.Event, views.SimForm, error) {
	f := views.SimForm{Platform: v.Get("platform"), User: strings.TrimSpace(v.Get("user")), Kind: v.Get("kind"), Text: v.Get("text"),
		Amount: strings.TrimSpace(v.Get("amount")), Badges: v["badges"], DryRun: v.Get("dry_run") != ""}
	ev := router.Event{Platform: f.Platform, Kind: router.Kind(f.Kind), Text: f.Text, Time: time.Now(),
		User: router.User{Name: f.User, Roles: f.Badges}}
	if f.User == "" {
		return ev, f, problem.Invalidf("user", "Give the user a name.")
	}
	if len(f.User) > maxSimUser {
		return ev, f, problem.Invalidf("user", "A user name has at most %d characters.", maxSimUser)
	}
	known := -1
	for i, k := range simKinds {
		if string(k.kind) == f.Kind {
			known = i
		}
	}
	if known < 0 {
		return ev, f, problem.Invalidf("kind", "Unknown event kind %q: choose one of the list.", truncateRunes(f.Kind, 40))
	}
	if key := simKinds[known].amount; key != "" {
		n, err := strconv.Atoi(f.Amount)
		if f.Amount == "" {
			n, err = 0, nil
		}
		top := min(maxSimAmount, router.Amounts[key].Max)
		if err != nil || n < 0 || int64(n) > top {
			return ev, f, problem.Invalidf("amount", "The number of %s is a whole number from 0 to %d.", key, top)
		}
		if n > 0 { // 0 or blank: the event carries none
			ev.Data = map[string]any{key: n}
		}
	}
	ev.ID = "sim-" + rand.Text()
	return ev, f, nil
}

// simSent is what the user sent, as the transcript shows it.
func simSent(f views.SimForm) string {
	who := f.User
	if who == "" {
		who = "(nobody)"
	}
	if len(f.Badges) > 0 {
		who += " [" + strings.Join(f.Badges, ", ") + "]"
	}
	text := truncateRunes(f.Text, 300)
	kind := router.Kind(f.Kind)
	if kind == router.ChatMessage || (kind == router.AppMention && text != "") {
		return who + ": " + text
	}
	label := truncateRunes(f.Kind, 40)
	for _, k := range simKinds {
		if string(k.kind) == f.Kind {
			label = k.label
			if k.amount != "" {
				amount := f.Amount
				if amount == "" {
					amount = "0"
				}
				label = fmt.Sprintf("%s (%s %s)", strings.Fields(k.label)[0], truncateRunes(amount, 10), k.amount)
			}
		}
	}
	if text != "" {
		return who + " · " + label + ": " + text
	}
	return who + " · " + label
}

func simEntry(f views.SimForm, res router.Result, dry bool) views.SimEntry {
	e := views.SimEntry{Platform: f.Platform, Sent: simSent(f), DryRun: dry, HandledBy: res.HandledBy, Changes: res.Changes,
		Duration: fmt.Sprintf("%.1f ms", float64(res.Duration.Microseconds())/1000)}
	for _, r := range res.Responses {
		sr := views.SimResponse{Reply: r.Reply, Private: r.Private}
		if md := r.Moderation; md != nil {
			sr.Moderation = md.Action
			if md.Seconds > 0 {
				sr.Moderation += fmt.Sprintf(" %ds", md.Seconds)
			}
			if md.Reason != "" {
				sr.Moderation += " (" + md.Reason + ")"
			}
		}
		if em := r.Embed; em != nil {
			sr.EmbedTitle, sr.EmbedText = em.Title, em.Description
			for _, fl := range em.Fields {
				sr.EmbedFields = append(sr.EmbedFields, views.SimField{Name: fl.Name, Value: fl.Value})
			}
		}
		for _, b := range r.Buttons {
			sr.Buttons = append(sr.Buttons, b.Label)
		}
		if r.Form != nil {
			sr.Form = r.Form.Title
		}
		if r.Overlay != nil {
			sr.Overlay = r.Overlay.Kind
		}
		e.Responses = append(e.Responses, sr)
	}
	for _, p := range res.Points {
		e.Points = append(e.Points, views.SimPoints{User: p.User, Delta: p.Delta, Balance: p.Balance, Reason: p.Reason})
	}
	return e
}

// simulate runs one event typed in the simulator. HTMX gets the transcript
// entry to append (with 200 even for bad input: HTMX swaps only 2xx answers);
// a plain form gets the page with the entry.
func (h *Handler) simulate(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	err := parseForm(w, r)
	var (
		ev router.Event
		f  views.SimForm
	)
	if err == nil {
		ev, f, err = simEvent(r.PostForm)
	}
	if err == nil && !f.DryRun && !m.Role.CanManage() {
		h.fail(w, r, problem.New(problem.Forbidden, "Only owners and admins may run events for real; tick dry run."))
		return
	}
	var res router.Result
	if err == nil {
		res, err = h.router.Simulate(r.Context(), auditActor(r), m.ID, ev, f.DryRun)
	}
	var entry views.SimEntry
	st := http.StatusOK
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		entry = views.SimEntry{Platform: f.Platform, Sent: simSent(f), Error: msg}
		st = status(err)
	} else {
		entry = simEntry(f, res, f.DryRun)
	}
	if isHTMX(r) {
		entry.ResetText = err == nil
		h.render(w, r, http.StatusOK, views.SimAnswer(entry))
		return
	}
	if err == nil {
		f.Text = ""
	}
	h.render(w, r, st, views.Simulator(h.simulatorView(r, f, []views.SimEntry{entry})))
}
