package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// builtinNames are the router's built-in commands, in the order its help lists them.
var builtinNames = []string{"help", "points", "leaderboard", "quote", "so", "give", "commands", "alias", "counter"}

func commandRow(cid int64, prefix string, c *router.Command, canManage bool) views.CommandRow {
	return views.CommandRow{CommunityID: cid, ID: c.ID, Prefix: prefix, Name: c.Name, Aliases: c.Aliases, Response: c.Response,
		Modules: c.Modules, Parallel: c.Parallel, Permission: c.Permission, UserCooldown: int(c.UserCooldown / time.Second), GlobalCooldown: int(c.GlobalCooldown / time.Second),
		Platforms: c.Platforms, Enabled: c.Enabled, Counter: c.Counter, CanManage: canManage,
		Permissions: router.Permissions, AllPlatforms: router.Platforms, WorkflowID: c.WorkflowID, Module: moduleLabel(c)}
}

// moduleLabel is "slug version" for an installed module's command.
func moduleLabel(c *router.Command) string {
	if c.InstallID == 0 {
		return ""
	}
	return c.Module + " " + c.ModuleVersion
}

// workflowNames names the workflows that own commands, by id.
func (h *Handler) workflowNames(ctx context.Context, cid int64, cmds ...*router.Command) (map[int64]string, error) {
	names := map[int64]string{}
	if h.cfg.Workflows == nil || !slices.ContainsFunc(cmds, func(c *router.Command) bool { return c.WorkflowID != 0 }) {
		return names, nil
	}
	ws, err := h.cfg.Workflows.List(ctx, cid)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		names[w.ID] = w.Name
	}
	return names, nil
}

// refuseManaged answers a request to change a workflow's command by hand
// with a conflict naming the workflow, and reports whether it did.
func (h *Handler) refuseManaged(w http.ResponseWriter, r *http.Request, c *router.Command) bool {
	if c.InstallID != 0 {
		h.fail(w, r, problem.New(problem.Conflict, "!%s is managed by the module %s: upgrade or uninstall the module instead.", c.Name, c.Module))
		return true
	}
	if c.WorkflowID == 0 {
		return false
	}
	names, err := h.workflowNames(r.Context(), membershipOf(r).ID, c)
	if err != nil {
		h.fail(w, r, err)
		return true
	}
	h.fail(w, r, problem.New(problem.Conflict, "!%s is managed by the workflow %q: change or unpublish the workflow instead.", c.Name, names[c.WorkflowID]))
	return true
}

// editing turns a row into its edit form, filled from the command.
func editing(row views.CommandRow) views.CommandRow {
	row.Editing = true
	row.Edit = views.CommandForm{Name: row.Name, Response: row.Response, Permission: row.Permission,
		UserCooldown: strconv.Itoa(row.UserCooldown), GlobalCooldown: strconv.Itoa(row.GlobalCooldown),
		Platforms: row.Platforms, Enabled: row.Enabled, Aliases: strings.Join(row.Aliases, " "),
		Preview: router.PreviewReply(row.Response)}
	return row
}

// parseCommandForm reads the create form into *f, so a refusal can show it again.
func parseCommandForm(w http.ResponseWriter, r *http.Request, f *views.CommandForm) (router.CommandInput, error) {
	if err := parseForm(w, r); err != nil {
		return router.CommandInput{}, err
	}
	in, form, err := commandForm(r.PostForm)
	*f = form
	return in, err
}

// commandForm reads the create or edit form.
func commandForm(v url.Values) (router.CommandInput, views.CommandForm, error) {
	f := views.CommandForm{Name: v.Get("name"), Response: v.Get("response"), Permission: v.Get("permission"),
		Platforms: v["platforms"], Enabled: v.Get("enabled") != "", Aliases: v.Get("aliases")}
	f.Preview = router.PreviewReply(f.Response)
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
		Prefix: prefix, Prefixes: router.Prefixes, PrefixError: prefixErr, Builtins: h.builtins(), Create: create,
		Permissions: router.Permissions, Platforms: router.Platforms}
	if p.Slash, err = h.slashSection(r, m.ID, can); err != nil {
		return views.CommandsPage{}, err
	}
	names, err := h.workflowNames(ctx, m.ID, cmds...)
	if err != nil {
		return views.CommandsPage{}, err
	}
	for _, c := range cmds {
		row := commandRow(m.ID, prefix, c, can)
		row.Workflow = names[c.WorkflowID]
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
	var cmd *router.Command
	answer := formAnswer{
		Form: func(msg string) (templ.Component, error) {
			f.Error = msg
			return views.CommandCreateForm(m.ID, f, router.Permissions, router.Platforms), nil
		},
		Page: func(st int, msg string) {
			f.Error = msg
			if f.Permission == "" {
				f.Permission = router.Everyone // keeps the typed values: commandsView fills defaults only into an untouched form
			}
			h.renderCommands(w, r, st, f, "", nil)
		},
		Done: func() {
			prefix, _ := h.settings.Prefix(r.Context(), m.ID)
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Command %s%s created.", prefix, cmd.Name))
			seeOther(w, r, botPath(m.ID, "commands"))
		},
	}
	in, err := parseCommandForm(w, r, &f)
	if err == nil {
		cmd, err = h.settings.CreateCommand(r.Context(), auditActor(r), m.ID, in)
	}
	f.Field = commandFieldOf(err, in)
	h.answerForm(w, r, err, answer)
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
	row := commandRow(membershipOf(r).ID, prefix, cmd, membershipOf(r).Role.CanManage())
	names, err := h.workflowNames(r.Context(), membershipOf(r).ID, cmd)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row.Workflow = names[cmd.WorkflowID]
	h.render(w, r, http.StatusOK, views.CommandItem(row))
}

// editCommandPage shows a command's edit form: the row alone for HTMX, in the whole page otherwise.
func (h *Handler) editCommandPage(w http.ResponseWriter, r *http.Request) {
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.refuseManaged(w, r, cmd) {
		return
	}
	row := editing(commandRow(membershipOf(r).ID, prefix, cmd, true))
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.CommandItem(row))
		return
	}
	h.renderCommands(w, r, http.StatusOK, views.CommandForm{}, "", &row)
}

// commandAnswer answers a change to one command: *row is the command's row
// after the change, or its row (or edit form) before a refused one; HTMX gets
// the row, with the reason for a refusal.
func (h *Handler) commandAnswer(w http.ResponseWriter, r *http.Request, row *views.CommandRow, flash string) formAnswer {
	withError := func(shown views.CommandRow, msg string) views.CommandRow {
		if shown.Editing {
			shown.Edit.Error = msg
		} else {
			shown.Error = msg
		}
		return shown
	}
	page := func(st int, shown *views.CommandRow) { h.renderCommands(w, r, st, views.CommandForm{}, "", shown) }
	return rowAnswer(row, withError, views.CommandItem, page, flash, botPath(membershipOf(r).ID, "commands"))
}

func (h *Handler) updateCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, f, err := commandForm(r.PostForm)
	f.Name = cmd.Name
	row := commandRow(m.ID, prefix, cmd, true)
	row.Editing, row.Edit = true, f // shown again if the change is refused
	if _, ok := r.PostForm["aliases"]; !ok {
		row.Edit.Aliases = strings.Join(cmd.Aliases, " ")
	}
	if err == nil {
		err = checkAliases(r.PostForm)
	}
	answer := h.commandAnswer(w, r, &row, fmt.Sprintf("Command %s%s saved.", prefix, cmd.Name))
	if err == nil {
		// The form edits a text command; the modules a command runs stay as they are.
		in.Name, in.Modules, in.Parallel = cmd.Name, cmd.Modules, cmd.Parallel
		var updated *router.Command
		var aliases []string
		aliases, err = h.saveWithAliases(r, cmd, r.PostForm, func() (err error) {
			updated, err = h.settings.UpdateCommand(r.Context(), auditActor(r), m.ID, cmd.ID, in)
			return err
		})
		if err == nil {
			updated.Aliases = aliases
			row = commandRow(m.ID, prefix, updated, true)
		}
	}
	row.Edit.Field = commandFieldOf(err, in)
	h.answerForm(w, r, err, answer)
}

func (h *Handler) toggleCommand(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	cmd, prefix, err := h.commandOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.refuseManaged(w, r, cmd) {
		return
	}
	in := router.CommandInput{Name: cmd.Name, Response: cmd.Response, Modules: cmd.Modules, Parallel: cmd.Parallel,
		Permission: cmd.Permission, UserCooldown: int(cmd.UserCooldown / time.Second),
		GlobalCooldown: int(cmd.GlobalCooldown / time.Second), Enabled: !cmd.Enabled, Platforms: cmd.Platforms}
	state := "disabled"
	if !cmd.Enabled {
		state = "enabled"
	}
	row := commandRow(m.ID, prefix, cmd, true)
	answer := h.commandAnswer(w, r, &row, fmt.Sprintf("Command %s%s %s.", prefix, cmd.Name, state))
	updated, err := h.settings.UpdateCommand(r.Context(), auditActor(r), m.ID, cmd.ID, in)
	if err == nil {
		updated.Aliases = cmd.Aliases
		row = commandRow(m.ID, prefix, updated, true)
	}
	h.answerForm(w, r, err, answer)
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
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	alias := strings.TrimSpace(r.PostForm.Get("alias"))
	row := commandRow(m.ID, prefix, cmd, true)
	answer := h.commandAnswer(w, r, &row, fmt.Sprintf("%s%s now also runs %s%s.", prefix, strings.ToLower(strings.TrimPrefix(alias, "!")), prefix, cmd.Name))
	if len(alias) > 100 {
		h.answerForm(w, r, problem.Invalidf("alias", "An alias has 1 to 32 letters, digits or underscores."), answer)
		return
	}
	if err := h.settings.AddAlias(r.Context(), auditActor(r), m.ID, alias, cmd.Name); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	if cmd, _, err = h.commandOf(r); err != nil {
		h.fail(w, r, err)
		return
	}
	row = commandRow(m.ID, prefix, cmd, true)
	h.answerForm(w, r, nil, answer)
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
	row := commandRow(m.ID, prefix, cmd, true)
	h.answerForm(w, r, nil, h.commandAnswer(w, r, &row, fmt.Sprintf("Alias %s%s removed.", prefix, alias)))
}

func (h *Handler) setPrefix(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	err := parseForm(w, r)
	prefix := r.PostForm.Get("prefix")
	if err == nil {
		err = h.settings.SetPrefix(r.Context(), auditActor(r), m.ID, prefix)
	}
	h.answerForm(w, r, err, formAnswer{
		Page:  func(st int, msg string) { h.renderCommands(w, r, st, views.CommandForm{}, msg, nil) },
		Flash: fmt.Sprintf("Commands now start with %s.", prefix),
		To:    botPath(m.ID, "commands"),
	})
}
