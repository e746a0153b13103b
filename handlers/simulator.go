package handlers

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

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

// sessSimRealOK marks a session in which real simulator runs were
// confirmed: the simulator asks once per session.
const sessSimRealOK = "sim_real_ok"

const (
	maxSimAmount = 1_000_000
	maxSimUser   = 50 // bytes; the router's user id, "sim:" and the name in lower case, has at most 100
)

func (h *Handler) simulatorView(r *http.Request, form views.SimForm, transcript []views.SimEntry) views.SimulatorPage {
	m := membershipOf(r)
	p := views.SimulatorPage{Chrome: h.chrome(r, "Chat simulator · "+m.Name, "communities"), Nav: h.botNav(r, "simulator"),
		CanLive: m.Role.CanManage(), Form: form, Platforms: router.Platforms, Badges: simBadges, Transcript: transcript}
	for _, k := range simKinds {
		p.Kinds = append(p.Kinds, views.SimKind{Value: string(k.kind), Label: k.label, Amount: amountLabel(k.amount)})
	}
	return p
}

func (h *Handler) simulatorPage(w http.ResponseWriter, r *http.Request) {
	form := views.SimForm{Platform: router.Twitch, User: "viewer", Kind: string(router.ChatMessage), DryRun: true,
		RealOK: h.sessions.GetBool(r.Context(), sessSimRealOK)}
	h.render(w, r, http.StatusOK, views.Simulator(h.simulatorView(r, form, nil)))
}

// amountLabel names the number field of an event kind whose Data key is key.
func amountLabel(key string) string {
	if key == "" {
		return ""
	}
	return strings.ToUpper(key[:1]) + key[1:]
}

// simEvent reads the simulator form into an event.
func simEvent(v url.Values) (router.Event, views.SimForm, error) {
	f := views.SimForm{Platform: v.Get("platform"), User: strings.TrimSpace(v.Get("user")), Kind: v.Get("kind"), Text: v.Get("text"),
		Amount: strings.TrimSpace(v.Get("amount")), Badges: v["badges"], DryRun: v.Get("dry_run") != "", RealOK: v.Get("real_ok") == "1"}
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
		return ev, f, problem.Invalidf("kind", "Unknown event kind %q: choose one of the list.", runes.Truncate(f.Kind, 40, "…"))
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
	text := runes.Truncate(f.Text, 300, "…")
	kind := router.Kind(f.Kind)
	if kind == router.ChatMessage || (kind == router.AppMention && text != "") {
		return who + ": " + text
	}
	label := runes.Truncate(f.Kind, 40, "…")
	for _, k := range simKinds {
		if string(k.kind) == f.Kind {
			label = k.label
			if k.amount != "" {
				amount := f.Amount
				if amount == "" {
					amount = "0"
				}
				label = fmt.Sprintf("%s (%s %s)", strings.Fields(k.label)[0], runes.Truncate(amount, 10, "…"), k.amount)
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
	shown := map[string]bool{} // the router's change line for each points change listed
	for _, p := range res.Points {
		e.Points = append(e.Points, views.SimPoints{User: p.User, Delta: p.Delta, Balance: p.Balance, Reason: p.Reason})
		shown[p.Change()] = true
	}
	e.Changes = nil
	for _, c := range res.Changes {
		if !shown[c] { // shown once, with its balance, in Points
			e.Changes = append(e.Changes, c)
		}
	}
	e.RealOK = f.RealOK || !dry
	return e
}

// simulate runs one event typed in the simulator. HTMX gets the transcript
// entry to append (with 200 even for bad input: HTMX swaps only 2xx answers);
// a plain form gets the page with the entry.
func (h *Handler) simulate(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var (
		f   views.SimForm
		res router.Result
	)
	var flows []views.SimWorkflow
	entry := func(msg string) views.SimEntry {
		if msg != "" {
			return views.SimEntry{Platform: f.Platform, Sent: simSent(f), Error: msg, RealOK: f.RealOK}
		}
		e := simEntry(f, res, f.DryRun)
		e.Workflows = flows
		return e
	}
	page := func(st int, e views.SimEntry) {
		h.render(w, r, st, views.Simulator(h.simulatorView(r, f, []views.SimEntry{e})))
	}
	answer := formAnswer{
		Row: func(msg string) (templ.Component, error) {
			e := entry(msg)
			e.ResetText = msg == ""
			return views.SimAnswer(e), nil
		},
		Page: func(st int, msg string) { page(st, entry(msg)) },
		Done: func() {
			e := entry("")
			f.Text = ""
			page(http.StatusOK, e)
		},
	}
	ev, err := parseSimForm(w, r, &f)
	if err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	if !f.DryRun && !m.Role.CanManage() {
		h.fail(w, r, problem.New(problem.Forbidden, "Only owners and admins may run events for real; tick dry run."))
		return
	}
	f.RealOK = f.RealOK || h.sessions.GetBool(r.Context(), sessSimRealOK)
	if !f.DryRun && !f.RealOK {
		// The first real run of the page: ask next to the Send button, run nothing.
		if isHTMX(r) {
			h.render(w, r, http.StatusOK, views.SimAnswer(views.SimEntry{Confirm: true}))
			return
		}
		p := h.simulatorView(r, f, nil)
		p.Confirm = true
		h.render(w, r, http.StatusOK, views.Simulator(p))
		return
	}
	if !f.DryRun {
		h.sessions.Put(r.Context(), sessSimRealOK, true)
	}
	res, err = h.router.Simulate(r.Context(), auditActor(r), m.ID, ev, f.DryRun)
	if err == nil && h.cfg.Workflows != nil {
		flows = simWorkflows(h.cfg.Workflows.Would(r.Context(), m.ID, ev, res.Commands))
	}
	h.answerForm(w, r, err, answer)
}

// parseSimForm reads the simulator form into *f and an event.
func parseSimForm(w http.ResponseWriter, r *http.Request, f *views.SimForm) (router.Event, error) {
	if err := parseForm(w, r); err != nil {
		return router.Event{}, err
	}
	ev, form, err := simEvent(r.PostForm)
	*f = form
	return ev, err
}

// simWorkflows shows the workflows a simulated event would start.
func simWorkflows(ms []workflow.Match) []views.SimWorkflow {
	var out []views.SimWorkflow
	for _, m := range ms {
		w := views.SimWorkflow{Name: m.Name, Trigger: m.Trigger + " " + m.Node, Status: m.Outcome.Status, Error: m.Err}
		if w.Error == "" {
			w.Error = m.Outcome.Error
		}
		for _, tr := range m.Outcome.Traces {
			w.Nodes = append(w.Nodes, views.SimNode{Node: tr.Node, Type: tr.Type, Status: tr.Status, Output: tr.Summary(120)})
		}
		out = append(out, w)
	}
	return out
}
