package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

var (
	ruleMatches = []string{router.MatchContains, router.MatchWord, router.MatchExact, router.MatchGlob, router.MatchRegex}
	ruleActions = []string{router.ActionDelete, router.ActionTimeout, router.ActionBan, router.ActionWarn, router.ActionReply}
)

// newRuleForm is the new-rule form before anything is typed.
func newRuleForm() views.RuleForm {
	return views.RuleForm{Priority: "100", TimeoutSeconds: "600", ExemptModerators: true}
}

func ruleRow(cid int64, rl router.Rule, canManage bool) views.RuleRow {
	return views.RuleRow{CommunityID: cid, ID: rl.ID, Priority: rl.Priority, Match: rl.Match, Pattern: rl.Pattern,
		Action: rl.Action, TimeoutSeconds: rl.TimeoutSeconds, Response: rl.Response, ExemptModerators: rl.ExemptModerators,
		ExemptSubscribers: rl.ExemptSubscribers, Enabled: rl.Enabled, CanManage: canManage, Matches: ruleMatches, Actions: ruleActions}
}

// editingRule turns a row into its edit form, filled from the rule.
func editingRule(row views.RuleRow) views.RuleRow {
	row.Editing = true
	timeout := newRuleForm().TimeoutSeconds
	if row.TimeoutSeconds > 0 {
		timeout = strconv.Itoa(row.TimeoutSeconds)
	}
	row.Edit = views.RuleForm{Priority: strconv.Itoa(row.Priority), Match: row.Match, Pattern: row.Pattern, Action: row.Action,
		Response: row.Response, TimeoutSeconds: timeout, ExemptModerators: row.ExemptModerators,
		ExemptSubscribers: row.ExemptSubscribers, Enabled: row.Enabled}
	return row
}

// renderModeration shows the page; edit replaces the row of the same rule.
func (h *Handler) renderModeration(w http.ResponseWriter, r *http.Request, st int, form views.RuleForm, edit *views.RuleRow) {
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
		row := ruleRow(m.ID, rl, can)
		if edit != nil && edit.ID == rl.ID {
			row = *edit
		}
		p.Rules = append(p.Rules, row)
	}
	h.render(w, r, st, views.Moderation(p))
}

func (h *Handler) moderationPage(w http.ResponseWriter, r *http.Request) {
	h.renderModeration(w, r, http.StatusOK, newRuleForm(), nil)
}

// maxPriority bounds a rule's priority (an integer column).
const maxPriority = 1_000_000

// ruleForm reads the new rule form or a rule's edit form (which alone has
// the enabled box; a new rule is always enabled).
func ruleForm(v url.Values) (router.RuleInput, views.RuleForm, error) {
	f := views.RuleForm{Match: v.Get("match"), Pattern: v.Get("pattern"), Action: v.Get("action"), Response: v.Get("response"),
		ExemptModerators: v.Get("exempt_moderators") != "", ExemptSubscribers: v.Get("exempt_subscribers") != "",
		Enabled: v.Get("enabled") != ""}
	in := router.RuleInput{Match: f.Match, Pattern: f.Pattern, Action: f.Action, Response: f.Response,
		ExemptModerators: f.ExemptModerators, ExemptSubscribers: f.ExemptSubscribers, Enabled: f.Enabled}
	var err error
	if in.Priority, f.Priority, err = formInt(v, "priority", "The priority", 100); err != nil {
		return in, f, err
	}
	if in.Priority < -maxPriority || in.Priority > maxPriority {
		return in, f, problem.Invalidf("priority", "The priority is between %d and %d.", -maxPriority, maxPriority)
	}
	if in.TimeoutSeconds, f.TimeoutSeconds, err = formInt(v, "timeout_seconds", "A timeout", 0); err != nil {
		return in, f, err
	}
	if in.Action != router.ActionTimeout {
		in.TimeoutSeconds = 0 // the field only means something for timeouts
	}
	return in, f, nil
}

func (h *Handler) createRule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.RuleForm
	answer := formAnswer{
		Form: func(msg string) (templ.Component, error) {
			f.Error = msg
			return views.RuleCreateForm(m.ID, f, ruleMatches, ruleActions), nil
		},
		Page:  func(st int, msg string) { f.Error = msg; h.renderModeration(w, r, st, f, nil) },
		Flash: "Rule added.",
		To:    botPath(m.ID, "moderation"),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form, err := ruleForm(r.PostForm)
	if f = form; err == nil {
		_, err = h.settings.CreateRule(r.Context(), auditActor(r), m.ID, in)
	}
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, answer)
}

// ruleOf loads the rule {rid} of the community; another community's rule is not found.
func (h *Handler) ruleOf(r *http.Request) (router.Rule, error) {
	id, err := pathID(r, "rid")
	if err != nil {
		return router.Rule{}, router.ErrRuleNotFound
	}
	rules, err := h.settings.Rules(r.Context(), membershipOf(r).ID)
	if err != nil {
		return router.Rule{}, err
	}
	for _, rl := range rules {
		if rl.ID == id {
			return rl, nil
		}
	}
	return router.Rule{}, router.ErrRuleNotFound
}

// ruleRowPage answers GET /moderation/rules/{rid}: the row for HTMX (cancelling an edit), the page otherwise.
func (h *Handler) ruleRowPage(w http.ResponseWriter, r *http.Request) {
	rl, err := h.ruleOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := membershipOf(r)
	if !isHTMX(r) {
		http.Redirect(w, r, botPath(m.ID, "moderation"), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, views.RuleItem(ruleRow(m.ID, rl, m.Role.CanManage())))
}

// editRulePage shows a rule's edit form: the row alone for HTMX, in the whole page otherwise.
func (h *Handler) editRulePage(w http.ResponseWriter, r *http.Request) {
	rl, err := h.ruleOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row := editingRule(ruleRow(membershipOf(r).ID, rl, true))
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.RuleItem(row))
		return
	}
	h.renderModeration(w, r, http.StatusOK, newRuleForm(), &row)
}

// ruleAnswer answers a change to one rule: *row is the rule's row after the
// change, or its row (or edit form) before a refused one; HTMX gets the row,
// with the reason for a refusal.
func (h *Handler) ruleAnswer(w http.ResponseWriter, r *http.Request, row *views.RuleRow, flash string) formAnswer {
	withError := func(shown views.RuleRow, msg string) views.RuleRow {
		if shown.Editing {
			shown.Edit.Error = msg
		} else {
			shown.Error = msg
		}
		return shown
	}
	page := func(st int, shown *views.RuleRow) { h.renderModeration(w, r, st, newRuleForm(), shown) }
	return rowAnswer(row, withError, views.RuleItem, page, flash, botPath(membershipOf(r).ID, "moderation"))
}

func (h *Handler) updateRule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	rl, err := h.ruleOf(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, f, err := ruleForm(r.PostForm)
	row := ruleRow(m.ID, rl, true)
	row.Editing, row.Edit = true, f // shown again if the change is refused
	answer := h.ruleAnswer(w, r, &row, "Rule saved.")
	if err == nil {
		var updated router.Rule
		if updated, err = h.settings.UpdateRule(r.Context(), auditActor(r), m.ID, rl.ID, in); err == nil {
			row = ruleRow(m.ID, updated, true)
		}
	}
	row.Edit.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, answer)
}

func (h *Handler) toggleRule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	rl, err := h.ruleOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := rl
	in.Enabled = !rl.Enabled
	flash := "Rule disabled."
	if in.Enabled {
		flash = "Rule enabled."
	}
	row := ruleRow(m.ID, rl, true)
	answer := h.ruleAnswer(w, r, &row, flash)
	updated, err := h.settings.UpdateRule(r.Context(), auditActor(r), m.ID, rl.ID, in)
	if err == nil {
		row = ruleRow(m.ID, updated, true)
	}
	h.answerForm(w, r, err, answer)
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
