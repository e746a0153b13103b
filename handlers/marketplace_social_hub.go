package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// The reviews and usage sections of a module's page (and their own pages,
// where forms without script land): members of a community that installed
// a module review it, its author answers, global admins hide; the author
// and global admins see its usage, a community's admins its usage there.

const reviewsPageSize = 20

func reviewsURL(slug string) string { return "/marketplace/" + url.PathEscape(slug) + "/reviews" }

// reviewsSection builds the section as u sees it, with form the viewer's
// review as typed (nil: as saved).
func (h *Handler) reviewsSection(ctx context.Context, u auth.User, slug string, offset int, form *views.ReviewForm) (views.ReviewsSection, error) {
	m := h.cfg.Marketplace
	page, err := m.Reviews(ctx, slug, reviewsPageSize, offset, u.IsAdmin)
	if err != nil {
		return views.ReviewsSection{}, err
	}
	st, err := m.ReviewerState(ctx, slug, u.ID)
	if err != nil {
		return views.ReviewsSection{}, err
	}
	s := views.ReviewsSection{Slug: slug, BaseURL: reviewsURL(slug), Average: page.Rating.Average(), Count: page.Rating.Count,
		Total: page.Total, CanReview: st.MayReview, IsAdmin: u.IsAdmin}
	switch {
	case st.IsAuthor:
		s.WhyNot = "You wrote this module, so you cannot review it; you may answer each review once."
	case !st.MayReview:
		s.WhyNot = "Members of a community that has this module installed may review it."
	}
	if st.Own != nil {
		s.Own = views.ReviewForm{Exists: true, Hidden: st.Own.Hidden, Stars: st.Own.Stars, Body: st.Own.Body}
	}
	if form != nil {
		form.Exists, form.Hidden = s.Own.Exists, s.Own.Hidden
		s.Own = *form
	}
	for _, r := range page.Reviews {
		s.Reviews = append(s.Reviews, views.ReviewItem{UserID: r.UserID, Reviewer: r.ReviewerName, Stars: r.Stars, Body: r.Body,
			Answer: r.Answer, AnsweredAt: r.AnsweredAt, Hidden: r.Hidden, CreatedAt: r.CreatedAt, Edited: r.UpdatedAt.After(r.CreatedAt),
			Own: r.UserID == u.ID, CanAnswer: st.IsAuthor && r.Answer == ""})
	}
	if next := offset + len(page.Reviews); next < page.Total {
		s.MoreURL = fmt.Sprintf("%s?offset=%d", s.BaseURL, next)
	}
	return s, nil
}

// reviewsPage serves the section: the fragment for HTMX, else a page.
func (h *Handler) reviewsPage(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	slug := chiURLParam(r, "slug")
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	s, err := h.reviewsSection(r.Context(), u, slug, max(offset, 0), nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderReviews(w, r, http.StatusOK, s)
}

func (h *Handler) renderReviews(w http.ResponseWriter, r *http.Request, st int, s views.ReviewsSection) {
	if isHTMX(r) {
		h.render(w, r, st, views.MarketplaceReviews(s))
		return
	}
	h.render(w, r, st, views.MarketplaceReviewsPage(views.ReviewsPage{Chrome: h.chrome(r, "Reviews of "+s.Slug, "marketplace"),
		ModuleURL: "/marketplace/" + url.PathEscape(s.Slug), Reviews: s}))
}

// reviewAnswer answers a review form: the section again (with the message
// next to its field when refused) for HTMX, a page with the message, or a
// redirect to the reviews with a flash.
func (h *Handler) reviewAnswer(w http.ResponseWriter, r *http.Request, slug string, err error, typed *views.ReviewForm, flash string) {
	u, _ := userOf(r)
	section := func(msg string) (views.ReviewsSection, error) {
		var form *views.ReviewForm
		if msg != "" {
			f := views.ReviewForm{Error: msg, Field: fieldOf(err, nil)}
			if typed != nil {
				f.Stars, f.Body = typed.Stars, typed.Body
			} else if st, e := h.cfg.Marketplace.ReviewerState(r.Context(), slug, u.ID); e == nil && st.Own != nil {
				f.Stars, f.Body = st.Own.Stars, st.Own.Body
			}
			form = &f
		}
		return h.reviewsSection(r.Context(), u, slug, 0, form)
	}
	h.answerForm(w, r, err, formAnswer{
		Row: func(msg string) (templ.Component, error) {
			s, err := section(msg)
			return views.MarketplaceReviews(s), err
		},
		Page: func(st int, msg string) {
			s, err := section(msg)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			h.renderReviews(w, r, st, s)
		},
		Flash: flash,
		To:    "/marketplace/" + url.PathEscape(slug) + "#mk-reviews",
	})
}

// reviewForm reads the review form; a missing or malformed star count is 0,
// which the domain refuses naming the field.
func reviewForm(r *http.Request) views.ReviewForm {
	stars, _ := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("stars")))
	return views.ReviewForm{Stars: stars, Body: r.PostForm.Get("body")}
}

func (h *Handler) putReviewHub(w http.ResponseWriter, r *http.Request) {
	slug := chiURLParam(r, "slug")
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	in := reviewForm(r)
	_, err := h.cfg.Marketplace.PutReview(r.Context(), auditActor(r), u.ID, slug, in.Stars, in.Body)
	h.reviewAnswer(w, r, slug, err, &in, "Review saved.")
}

func (h *Handler) deleteReviewHub(w http.ResponseWriter, r *http.Request) {
	slug := chiURLParam(r, "slug")
	u, _ := userOf(r)
	err := h.cfg.Marketplace.DeleteReview(r.Context(), auditActor(r), u.ID, slug)
	h.reviewAnswer(w, r, slug, err, nil, "Review deleted.")
}

func (h *Handler) answerReviewHub(w http.ResponseWriter, r *http.Request) {
	slug := chiURLParam(r, "slug")
	reviewer, err := pathID(r, "user")
	if err != nil {
		h.fail(w, r, marketplace.ErrReviewNotFound)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	_, err = h.cfg.Marketplace.AnswerReview(r.Context(), auditActor(r), u.ID, slug, reviewer, r.PostForm.Get("answer"))
	h.reviewAnswer(w, r, slug, err, nil, "Answer posted.")
}

func (h *Handler) hideReviewHub(w http.ResponseWriter, r *http.Request) {
	slug := chiURLParam(r, "slug")
	reviewer, err := pathID(r, "user")
	if err != nil {
		h.fail(w, r, marketplace.ErrReviewNotFound)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	flash := "Review hidden."
	if r.PostForm.Get("hidden") == "false" {
		flash = "Review shown again."
		_, err = h.cfg.Marketplace.UnhideReview(r.Context(), auditActor(r), u.IsAdmin, slug, reviewer)
	} else {
		_, err = h.cfg.Marketplace.HideReview(r.Context(), auditActor(r), u.IsAdmin, slug, reviewer)
	}
	h.reviewAnswer(w, r, slug, err, nil, flash)
}

// usageSection lays out a usage for the hub.
func usageSection(id, heading, scope string, u marketplace.Usage) views.UsageSection {
	days := make([]views.UsageDayRow, len(u.Days))
	for i, d := range u.Days {
		days[i] = usageRow(d.UsageFigures)
		days[i].Day = d.Day
	}
	return views.NewUsageSection(id, heading, scope, days, usageRow(u.Total))
}

func usageRow(f marketplace.UsageFigures) views.UsageDayRow {
	return views.UsageDayRow{Runs: f.Runs, Errors: f.Errors, Refused: f.Refused, P50Ms: f.P50Ms, P95Ms: f.P95Ms, Communities: f.Communities}
}

// ModuleUsageSection is the module page's usage section for u: ok is false
// (and the section empty) when u is neither the module's author nor a
// global admin, and the page shows no section.
func (h *Handler) moduleUsageSection(ctx context.Context, u auth.User, slug, version string) (views.UsageSection, bool, error) {
	may, err := h.cfg.Marketplace.MayViewUsage(ctx, u.ID, u.IsAdmin, slug)
	if err != nil || !may {
		return views.UsageSection{}, false, err
	}
	usage, err := h.cfg.Marketplace.ModuleUsage(ctx, u.ID, u.IsAdmin, slug, version)
	if err != nil {
		return views.UsageSection{}, false, err
	}
	s := usageSection("mk-usage", "Usage", "Runs of this module in every community, seen by its author and global admins.", usage)
	s.Versions, s.Version = usage.Versions, version
	s.PickURL = "/marketplace/" + url.PathEscape(slug) + "/usage"
	return s, true, nil
}

// communityUsageSection is the usage of a module installed in community cid,
// for the installed-modules page of its admins.
func (h *Handler) communityUsageSection(ctx context.Context, cid int64, slug string) (views.UsageSection, error) {
	usage, err := h.cfg.Marketplace.CommunityUsageBySlug(ctx, cid, slug)
	if err != nil {
		return views.UsageSection{}, err
	}
	return usageSection("mk-usage-"+slug, "Usage in this community", "Runs of this module in this community only.", usage), nil
}

// moduleUsagePage serves the module's usage (author and global admins):
// the section for HTMX (the version picker), else a page.
func (h *Handler) moduleUsagePage(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	slug := chiURLParam(r, "slug")
	s, ok, err := h.moduleUsageSection(r.Context(), u, slug, r.URL.Query().Get("version"))
	if err == nil && !ok {
		err = problem.New(problem.Forbidden, "Only the module's author and global admins may see its usage.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.MarketplaceUsage(s))
		return
	}
	h.render(w, r, http.StatusOK, views.MarketplaceUsagePage(views.UsagePage{Chrome: h.chrome(r, "Usage of "+slug, "marketplace"),
		Back: "The module", BackURL: "/marketplace/" + url.PathEscape(slug), Usage: s}))
}

// communityUsagePage serves a module's usage in the community (its managers).
func (h *Handler) communityUsagePage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	slug := chiURLParam(r, "slug")
	s, err := h.communityUsageSection(r.Context(), m.ID, slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.MarketplaceUsage(s))
		return
	}
	h.render(w, r, http.StatusOK, views.MarketplaceUsagePage(views.UsagePage{Chrome: h.chrome(r, "Usage of "+slug, "communities"),
		Back: "Installed modules", BackURL: fmt.Sprintf("/c/%d/marketplace/installed", m.ID), Usage: s}))
}

// socialSections adds the reviews section, and the usage section for the
// module's author and global admins, to the module page p.
func (h *Handler) socialSections(r *http.Request, u auth.User, slug string, p *views.MarketplaceModulePage) error {
	reviews, err := h.reviewsSection(r.Context(), u, slug, 0, nil)
	if err != nil {
		return err
	}
	p.Reviews = views.MarketplaceReviews(reviews)
	usage, ok, err := h.moduleUsageSection(r.Context(), u, slug, r.URL.Query().Get("version"))
	if err != nil {
		return err
	}
	if ok {
		p.Usage = views.MarketplaceUsage(usage)
	}
	return nil
}

// socialHubRoutes are the hub's review and usage routes (signed-in users;
// each handler checks who may do what).
func (h *Handler) socialHubRoutes(r chi.Router) {
	r.Get("/marketplace/{slug}/reviews", h.reviewsPage)
	r.Post("/marketplace/{slug}/reviews", h.putReviewHub)
	r.Post("/marketplace/{slug}/reviews/delete", h.deleteReviewHub)
	r.Post("/marketplace/{slug}/reviews/{user}/answer", h.answerReviewHub)
	r.Post("/marketplace/{slug}/reviews/{user}/hide", h.hideReviewHub)
	r.Get("/marketplace/{slug}/usage", h.moduleUsagePage)
}
