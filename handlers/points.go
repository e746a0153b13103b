package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

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
		Page:  func(st int, msg string) { h.renderPoints(w, r, st, msg, key) },
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
