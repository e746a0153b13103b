package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

const leaderboardSize = 25

func pointsRow(cid int64, v router.PointsValue, can bool) views.PointsValueRow {
	return views.PointsValueRow{CommunityID: cid, Key: v.Key, Points: v.Points, Default: v.Default, Custom: v.Custom, CanManage: can}
}

// renderPoints shows the page; errMsg goes to the row of badKey, or above
// the table. viewers, when set, is the viewer tracking form as submitted.
func (h *Handler) renderPoints(w http.ResponseWriter, r *http.Request, st int, errMsg, badKey string, viewers *views.ViewerTrackingForm) {
	m := membershipOf(r)
	ctx := r.Context()
	values, err := h.settings.PointsValues(ctx, m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	by := router.ByPoints
	if r.Method == http.MethodGet && r.URL.Query().Get("by") != "" {
		by = router.Ranking(r.URL.Query().Get("by"))
	}
	top, err := h.settings.LeaderboardBy(ctx, m.ID, by, leaderboardSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	p := views.PointsPage{Chrome: h.chrome(r, "Points · "+m.Name, "communities"), Nav: h.botNav(r, "points"), CanManage: can,
		ByWatchTime: by == router.ByWatchTime}
	if viewers != nil {
		p.Viewers = *viewers
	} else if p.Viewers, err = h.viewerTrackingForm(ctx, m.ID, can); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, v := range values {
		row := pointsRow(m.ID, v, can)
		if v.Key == badKey {
			row.Error, errMsg = errMsg, ""
		}
		p.Values = append(p.Values, row)
	}
	p.Error = errMsg // an error not about a row of the table
	for i, s := range top {
		p.Leaderboard = append(p.Leaderboard, views.LeaderboardRow{Rank: i + 1, Name: s.Name, Platform: s.Platform, Points: s.Points,
			Watched: router.WatchTimeText(s.Watched)})
	}
	h.render(w, r, st, views.Points(p))
}

func (h *Handler) pointsPage(w http.ResponseWriter, r *http.Request) {
	h.renderPoints(w, r, http.StatusOK, "", "", nil)
}

func (h *Handler) setPointsValue(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	key := chiURLParam(r, "key")
	n, err := pointsForm(w, r)
	if err == nil {
		err = h.settings.SetPointsValue(r.Context(), auditActor(r), m.ID, key, int64(n))
	}
	_, known := router.DefaultPoints[key]
	h.answerForm(w, r, err, formAnswer{
		Row: func(msg string) (templ.Component, error) {
			if err != nil && !known {
				return nil, err // no row to show the reason in
			}
			row, rerr := h.pointsValueRow(r.Context(), m.ID, key)
			row.Error = msg
			return views.PointsValueItem(row), rerr
		},
		Page:  func(st int, msg string) { h.renderPoints(w, r, st, msg, key, nil) },
		Flash: fmt.Sprintf("Points for %s saved.", key),
		To:    botPath(m.ID, "points"),
	})
}

// pointsForm reads the points an event earns.
func pointsForm(w http.ResponseWriter, r *http.Request) (int, error) {
	if err := parseForm(w, r); err != nil {
		return 0, err
	}
	if strings.TrimSpace(r.PostForm.Get("points")) == "" {
		return 0, problem.Invalidf("points", "Give the points the event earns.")
	}
	n, _, err := formInt(r.PostForm, "points", "Points", 0)
	return n, err
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

func (h *Handler) viewerTrackingForm(ctx context.Context, cid int64, can bool) (views.ViewerTrackingForm, error) {
	v, err := h.settings.ViewerTracking(ctx, cid)
	if err != nil {
		return views.ViewerTrackingForm{}, err
	}
	return views.ViewerTrackingForm{CommunityID: cid, CanManage: can, Enabled: v.Enabled,
		EveryMinutes: strconv.FormatInt(int64(v.Every/time.Minute), 10), Points: strconv.FormatInt(v.Points, 10)}, nil
}

// setViewerTracking turns viewer tracking on or off and sets its points and interval.
func (h *Handler) setViewerTracking(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	in, shown, err := viewerTrackingInput(w, r)
	if err == nil {
		err = h.settings.SetViewerTracking(r.Context(), auditActor(r), m.ID, in)
	}
	shown.CommunityID, shown.CanManage = m.ID, true
	h.answerForm(w, r, err, formAnswer{
		Row: func(msg string) (templ.Component, error) {
			if msg == "" {
				f, err := h.viewerTrackingForm(r.Context(), m.ID, true)
				return views.ViewerTracking(f), err
			}
			shown.Error = msg
			return views.ViewerTracking(shown), nil
		},
		Page: func(st int, msg string) {
			shown.Error = msg
			h.renderPoints(w, r, st, "", "", &shown)
		},
		Flash: "Viewer tracking saved.",
		To:    botPath(m.ID, "points"),
	})
}

// viewerTrackingInput reads the viewer tracking form, and returns it as
// submitted to show again next to an error.
func viewerTrackingInput(w http.ResponseWriter, r *http.Request) (router.ViewerTracking, views.ViewerTrackingForm, error) {
	if err := parseForm(w, r); err != nil {
		return router.ViewerTracking{}, views.ViewerTrackingForm{}, err
	}
	f := r.PostForm
	// Shown again as typed, but never more than a number's worth of it.
	shown := views.ViewerTrackingForm{Enabled: f.Get("enabled") == "on",
		EveryMinutes: runes.Truncate(strings.TrimSpace(f.Get("every")), 20, ""), Points: runes.Truncate(strings.TrimSpace(f.Get("points")), 20, "")}
	if shown.EveryMinutes == "" {
		return router.ViewerTracking{}, shown, problem.Invalidf("every", "Give how many minutes each award of points stands for (1 to 60).")
	}
	if shown.Points == "" {
		return router.ViewerTracking{}, shown, problem.Invalidf("points", "Give the points a viewer earns each time (1 to 1000).")
	}
	every, _, err := formInt(f, "every", "The interval in minutes", 0)
	if err != nil {
		return router.ViewerTracking{}, shown, err
	}
	points, _, err := formInt(f, "points", "Points", 0)
	if err != nil {
		return router.ViewerTracking{}, shown, err
	}
	// Clamped so the conversion cannot overflow; out of bounds stays out of bounds.
	every = min(max(every, 0), 1<<20)
	return router.ViewerTracking{Enabled: shown.Enabled, Every: time.Duration(every) * time.Minute, Points: int64(points)}, shown, nil
}
