package handlers

import (
	"net/http"
	"net/url"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

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

// ruleForm reads the new rule form.
func ruleForm(v url.Values) (router.RuleInput, views.RuleForm, error) {
	f := views.RuleForm{Match: v.Get("match"), Pattern: v.Get("pattern"), Action: v.Get("action"), Response: v.Get("response"),
		ExemptModerators: v.Get("exempt_moderators") != "", ExemptSubscribers: v.Get("exempt_subscribers") != ""}
	in := router.RuleInput{Match: f.Match, Pattern: f.Pattern, Action: f.Action, Response: f.Response,
		ExemptModerators: f.ExemptModerators, ExemptSubscribers: f.ExemptSubscribers}
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
		Page:  func(st int, msg string) { f.Error = msg; h.renderModeration(w, r, st, f) },
		Flash: "Rule added.",
		To:    botPath(m.ID, "moderation"),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form, err := ruleForm(r.PostForm)
	if f = form; err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	_, err = h.settings.CreateRule(r.Context(), auditActor(r), m.ID, in)
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
