package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/waddle/waddle/views"
)

// clockOf is how the request's pages show dates and times: in the signed-in
// person's zone, UTC for visitors and until a zone is chosen.
func clockOf(r *http.Request) views.Clock {
	u, ok := userOf(r)
	if !ok {
		return views.Clock{}
	}
	return views.Clock{Loc: u.Location(), ZoneUnset: u.TimeZone == ""}
}

// zoneOf is the signed-in person's time zone: dates they enter (filters)
// are read in it. UTC for visitors and until a zone is chosen.
func zoneOf(r *http.Request) *time.Location {
	u, _ := userOf(r)
	return u.Location()
}

// timeZoneView fills the account page's time zone form.
func timeZoneView(r *http.Request, f views.TimeZoneForm) views.TimeZoneForm {
	u, _ := userOf(r)
	f.Saved = u.TimeZone
	if f.Error == "" {
		f.Value = u.TimeZone
	}
	return f
}

// setTimeZone saves the zone chosen on the account page. With from=browser
// it is static/hub.js offering the browser's zone, taken only while the
// person has not chosen one: 204 either way, 400 for a name that is no zone.
func (h *Handler) setTimeZone(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	zone := strings.TrimSpace(r.PostForm.Get("time_zone"))
	if err == nil && r.PostForm.Get("from") == "browser" {
		if _, err = h.auth.OfferTimeZone(r.Context(), u.ID, zone); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err == nil {
		err = h.auth.SetTimeZone(r.Context(), u.ID, zone)
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			h.renderAccount(w, r, st, views.AccountPage{TimeZone: views.TimeZoneForm{Value: zone, Error: msg}})
		},
		Flash: "Time zone saved: dates and times now show in " + zone + ".", To: "/account#time-zone-setting",
	})
}
