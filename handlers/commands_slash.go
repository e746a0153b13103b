package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// slashSection lists the community's names as Discord slash commands, as
// the bot registers them today.
func (h *Handler) slashSection(r *http.Request, cid int64, canManage bool) (views.SlashSection, error) {
	plan, err := h.settings.SlashCommands(r.Context(), cid, time.Now())
	if err != nil {
		return views.SlashSection{}, err
	}
	s := views.SlashSection{CommunityID: cid, CanManage: canManage, Max: router.MaxSlashCommands}
	for _, c := range router.SlashChoices {
		s.Choices = append(s.Choices, string(c))
	}
	for _, e := range plan {
		row := views.SlashRow{Name: e.Name, Uses: e.Uses, Choice: string(e.Choice), Slash: e.Slash, Reason: e.Reason}
		if e.Alias {
			row.Of = e.Command.Name
		}
		if e.Slash {
			s.Count++
		}
		s.Rows = append(s.Rows, row)
	}
	return s, nil
}

// setSlashChoice answers POST /commands/slash/{name}: always, never or auto.
func (h *Handler) setSlashChoice(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	name := chiURLParam(r, "name")
	var choice router.SlashChoice
	err := parseForm(w, r)
	if err == nil {
		choice = router.SlashChoice(r.PostForm.Get("choice"))
		err = h.settings.SetSlashChoice(r.Context(), auditActor(r), m.ID, name, choice)
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			p, err := h.commandsView(r, views.CommandForm{}, "", nil)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			p.Slash.Error = msg
			h.render(w, r, st, views.Commands(p))
		},
		Flash: fmt.Sprintf("/%s is now %s as a Discord slash command.", name, choice),
		To:    botPath(m.ID, "commands"),
	})
}
