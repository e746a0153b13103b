package handlers

import (
	"net/http"
	"strconv"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
)

// formAnswer says how a form handler answers once the form was read and the
// domain called. answerForm picks one of four answers:
//
//   - HTMX, with Row: the fragment that changed, with the error if any, and
//     200 even for a refused change (HTMX swaps only 2xx answers);
//   - a refused change the user can fix: Page, the whole page again with the
//     message next to the form, and the error's status;
//   - a change made: Done if set (a page that shows something once, like a
//     new secret), otherwise the Flash message and a 303 to To;
//   - any other error: the error page, through fail.
type formAnswer struct {
	// Row builds the HTMX fragment; msg is "" after a change made. An error
	// it returns is answered with fail.
	Row func(msg string) (templ.Component, error)
	// Form builds the HTMX fragment of a form that creates something: the
	// form again with msg next to its field. A change made is answered like
	// a plain form's (Done, or Flash and To), through an HX-Redirect.
	Form func(msg string) (templ.Component, error)
	// Page renders the page again with msg next to the form.
	Page func(status int, msg string)
	// Done answers a change made, instead of Flash and To.
	Done func()
	// Flash is shown on To after a change made.
	Flash, To string
}

// rowAnswer answers a change to one row of a bot page: *row is the row after
// the change, or the row (or its edit form) before a refused one, read when
// the answer is given. withError puts a refusal's reason where the row shows
// it; item renders the row for HTMX; page renders the whole page with the row
// in place.
func rowAnswer[R any](row *R, withError func(R, string) R, item func(R) templ.Component, page func(status int, shown *R), flash, to string) formAnswer {
	return formAnswer{
		Row: func(msg string) (templ.Component, error) { return item(withError(*row, msg)), nil },
		Page: func(st int, msg string) {
			shown := withError(*row, msg)
			page(st, &shown)
		},
		Flash: flash,
		To:    to,
	}
}

// answerForm answers a form request whose outcome is err (nil: the change was made).
func (h *Handler) answerForm(w http.ResponseWriter, r *http.Request, err error, a formAnswer) {
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		if p := problem.As(err); p.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())+1))
		}
		if isHTMX(r) && a.Row != nil {
			h.renderRow(w, r, a.Row, msg)
			return
		}
		if isHTMX(r) && a.Form != nil {
			h.renderRow(w, r, a.Form, msg)
			return
		}
		a.Page(status(err), msg)
		return
	}
	switch {
	case isHTMX(r) && a.Row != nil:
		h.renderRow(w, r, a.Row, "")
	case a.Done != nil:
		a.Done()
	default:
		if a.Flash != "" {
			h.sessions.Put(r.Context(), sessFlash, a.Flash)
		}
		seeOther(w, r, a.To)
	}
}

func (h *Handler) renderRow(w http.ResponseWriter, r *http.Request, row func(string) (templ.Component, error), msg string) {
	c, err := row(msg)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, c)
}

// formError reports whether err is one to show next to a form (the user can
// fix it) and, if not, answers the request with fail.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, err error) (string, bool) {
	if p := problem.As(err); p != nil && (p.Code == problem.Invalid || p.Code == problem.Conflict || p.Code == problem.Unauthorized || p.Code == problem.TooMany) {
		return p.Message, true
	}
	h.fail(w, r, err)
	return "", false
}

// fieldOf is the form field err is about ("" if none): the form shows the
// message next to that field and moves the focus there. renamed maps a
// domain's field name to the form's, when they differ.
func fieldOf(err error, renamed map[string]string) string {
	p := problem.As(err)
	if p == nil {
		return ""
	}
	if f, ok := renamed[p.Field]; ok {
		return f
	}
	return p.Field
}
