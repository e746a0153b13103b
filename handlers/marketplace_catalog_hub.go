package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// The marketplace's catalogue in the hub: hub-wide under /marketplace and in
// each community's workspace under /c/{cid}/marketplace (members). Publishing
// is for developers; unlisting, yanking and the developer flag for global
// admins.

// marketplaceCatalogHubRoutes are the hub-wide pages (signed-in users).
func (h *Handler) marketplaceCatalogHubRoutes(r chi.Router) {
	r.Get("/marketplace", h.marketplacePage)
	r.Get("/marketplace/publish", h.publishPage)
	r.Post("/marketplace/publish", h.publishModule)
	r.Group(func(r chi.Router) {
		r.Use(h.requireAdmin)
		r.Get("/marketplace/developers", h.developersPage)
		r.Post("/marketplace/developers", h.setDeveloper)
		r.Post("/marketplace/{slug}/unlist", h.unlistModule)
		r.Post("/marketplace/{slug}/relist", h.relistModule)
		r.Post("/marketplace/{slug}/versions/{version}/yank", h.yankVersion)
	})
	r.Get("/marketplace/{slug}", h.modulePage)
	r.Post("/marketplace/{slug}/versions", h.publishVersion)
}

// marketplaceBase is where the catalogue's links lead: the community's
// workspace when inside one, else the hub-wide catalogue.
func marketplaceBase(r *http.Request) string {
	if m := membershipOf(r); m.ID != 0 {
		return fmt.Sprintf("/c/%d/marketplace", m.ID)
	}
	return "/marketplace"
}

func moduleCard(base string, m marketplace.Module) views.ModuleCard {
	return views.ModuleCard{Href: base + "/" + m.Slug, Slug: m.Slug, Name: m.Name, Summary: m.Summary, Author: m.AuthorName,
		Rating: m.RatingAverage, RatingCount: m.RatingCount, Installs: m.ActiveInstalls,
		Price: views.PriceText(m.Price.Kind, m.Price.Cents, m.Price.Currency), Core: m.Core, Listed: m.Listed}
}

func (h *Handler) marketplacePage(w http.ResponseWriter, r *http.Request) {
	base := marketplaceBase(r)
	v := r.URL.Query()
	f := views.MarketplaceFilters{Q: v.Get("q"), Category: v.Get("category"), Label: v.Get("label"), Price: v.Get("price"),
		MinRating: v.Get("min_rating"), Sort: v.Get("sort"), Labels: v.Get("labels"), LabelMatch: v.Get("label_match")}
	var res views.MarketplaceResults
	q, err := parseSearch(v)
	if err == nil {
		var found marketplace.SearchResult
		if found, err = h.cfg.Marketplace.Search(r.Context(), q); err == nil {
			res.Total = found.Total
			for _, hit := range found.Hits {
				res.Cards = append(res.Cards, moduleCard(base, hit.Module))
			}
			page := func(offset int) string {
				p := url.Values{}
				for k, x := range v {
					p[k] = x
				}
				p.Set("offset", strconv.Itoa(offset))
				return base + "?" + p.Encode()
			}
			if n := found.NextOffset(); n > 0 {
				res.NextURL = page(n)
			}
			if found.Offset > 0 {
				res.PrevURL = page(max(found.Offset-found.Limit, 0))
			}
		}
	}
	st := http.StatusOK
	if err != nil {
		p := problem.As(err)
		if p == nil {
			h.fail(w, r, err)
			return
		}
		res.Error, res.Field, st = p.Message, p.Field, status(err)
	}
	if isHTMX(r) {
		h.render(w, r, st, views.MarketplaceResultList(res))
		return
	}
	cats, err := h.cfg.Marketplace.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	dev, err := h.cfg.Marketplace.IsDeveloper(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.MarketplaceCatalogPage{Chrome: h.chrome(r, "Marketplace", "marketplace"), Base: base, Filters: f, Results: res, IsDeveloper: dev}
	for _, c := range cats {
		p.Categories = append(p.Categories, c.Name)
	}
	h.render(w, r, st, views.MarketplaceCatalog(p))
}

func (h *Handler) modulePage(w http.ResponseWriter, r *http.Request) {
	h.renderModulePage(w, r, http.StatusOK, views.PublishForm{})
}

// renderModulePage shows the module named in the path; form is the author's
// new-version form as sent back with its errors.
func (h *Handler) renderModulePage(w http.ResponseWriter, r *http.Request, st int, form views.PublishForm) {
	ctx := r.Context()
	mod, err := h.cfg.Marketplace.Module(ctx, chi.URLParam(r, "slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	versions, err := h.cfg.Marketplace.Versions(ctx, mod.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	base := marketplaceBase(r)
	p := views.MarketplaceModulePage{Chrome: h.chrome(r, mod.Name+" · Marketplace", "marketplace"), Base: base, Card: moduleCard(base, mod),
		Homepage: mod.Homepage, Category: mod.Category, Labels: mod.Labels, DescriptionHTML: marketplace.RenderMarkdown(mod.Description),
		Latest: mod.Latest, UnlistedReason: mod.UnlistedReason, IsAuthor: mod.AuthorID != 0 && mod.AuthorID == u.ID,
		IsAdmin: u.IsAdmin, NewVersion: form}
	var shown *marketplace.Version
	for i, v := range versions {
		p.Versions = append(p.Versions, views.ModuleVersion{Version: v.Version, ChangelogHTML: marketplace.RenderMarkdown(v.Changelog),
			PublishedAt: v.PublishedAt, Yanked: v.Yanked, YankedReason: v.YankedReason})
		if shown == nil && v.Version == mod.Latest {
			shown = &versions[i]
		}
	}
	if shown == nil && len(versions) > 0 {
		shown = &versions[0]
	}
	if shown != nil {
		for _, c := range shown.Manifest.Commands {
			perm := c.Permission
			if perm == "" {
				perm = "everyone"
			}
			p.Commands = append(p.Commands, views.ModuleCommand{Name: c.Name, Usage: c.Usage, Permission: perm, Aliases: c.Aliases})
		}
		for _, c := range shown.Capabilities {
			p.Capabilities = append(p.Capabilities, views.ModuleCapability{Name: string(c), Words: c.Describe()})
		}
	}
	if p.Install, err = h.installPanel(r, mod); err != nil { // marketplace_install_panel.go
		h.fail(w, r, err)
		return
	}
	if err := h.socialSections(r, u, mod.Slug, &p); err != nil { // reviews and usage (marketplace_social_hub.go)
		h.fail(w, r, err)
		return
	}
	if membershipOf(r).ID != 0 && !mod.Core && mod.Price.Kind != marketplace.PriceFree {
		price, err := h.marketplacePrice(r) // price, buy and renew for this community (marketplace_pay.go)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Buy = views.MarketplacePricePanel(price)
	}
	h.render(w, r, st, views.MarketplaceModule(p))
}

// manifestForm reads the publish form: the manifest's JSON and the
// executor credentials in one line ("user:key" for OpenWhisk,
// "ACCESS_KEY_ID:SECRET" for Lambda).
func manifestForm(r *http.Request) (marketplace.Manifest, marketplace.Credentials, views.PublishForm, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, marketplace.MaxManifestBytes+8<<10)
	form := views.PublishForm{Manifest: r.PostFormValue("manifest")}
	m, errs := marketplace.ParseManifest([]byte(form.Manifest))
	if err := marketplace.Problem(errs); err != nil {
		return m, marketplace.Credentials{}, form, err
	}
	var creds marketplace.Credentials
	if c := strings.TrimSpace(r.PostFormValue("credentials")); c != "" {
		switch m.Executor.Kind {
		case marketplace.ExecOpenWhisk:
			creds.OpenWhisk = c
		case marketplace.ExecLambda:
			creds.AccessKeyID, creds.SecretAccessKey, _ = strings.Cut(c, ":")
		default:
			creds.OpenWhisk = c // refused by publishing: only OpenWhisk and Lambda take credentials
		}
	}
	return m, creds, form, nil
}

// withManifestErrors puts err's manifest errors into form; false when err
// is not about the manifest.
func withManifestErrors(form *views.PublishForm, err error) bool {
	var me *marketplace.ManifestError
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			form.Errors = append(form.Errors, views.FieldErrorView{Path: e.Path, Message: e.Message})
		}
		return true
	}
	if p := problem.As(err); p != nil && p.Code == problem.Invalid {
		form.Errors = append(form.Errors, views.FieldErrorView{Path: p.Field, Message: p.Message})
		return true
	}
	return false
}

func (h *Handler) publishPage(w http.ResponseWriter, r *http.Request) {
	h.renderPublish(w, r, http.StatusOK, views.PublishForm{}, "", "")
}

func (h *Handler) renderPublish(w http.ResponseWriter, r *http.Request, st int, form views.PublishForm, created, secret string) {
	u, _ := userOf(r)
	dev, err := h.cfg.Marketplace.IsDeveloper(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mine, err := h.cfg.Marketplace.ModulesByAuthor(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.MarketplacePublishPage{Chrome: h.chrome(r, "My modules · Marketplace", "marketplace"), IsDeveloper: dev, Form: form,
		CreatedSlug: created, SigningSecret: secret}
	for _, m := range mine {
		p.Mine = append(p.Mine, moduleCard("/marketplace", m))
	}
	h.render(w, r, st, views.MarketplacePublish(p))
}

func (h *Handler) publishModule(w http.ResponseWriter, r *http.Request) {
	m, creds, form, err := manifestForm(r)
	if err == nil {
		u, _ := userOf(r)
		var mod marketplace.Module
		var secret string
		mod, _, secret, err = h.cfg.Marketplace.CreateModule(r.Context(), auditActor(r), u.ID, m, creds)
		if err == nil {
			// The signing secret is shown once, on this answer; no redirect.
			h.renderPublish(w, r, http.StatusCreated, views.PublishForm{}, mod.Slug, secret)
			return
		}
	}
	if !withManifestErrors(&form, err) {
		h.fail(w, r, err)
		return
	}
	h.renderPublish(w, r, http.StatusUnprocessableEntity, form, "", "")
}

func (h *Handler) publishVersion(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	m, creds, form, err := manifestForm(r)
	if err == nil {
		u, _ := userOf(r)
		var secret string
		if _, secret, err = h.cfg.Marketplace.PublishVersion(r.Context(), auditActor(r), u.ID, slug, m, creds); err == nil {
			if secret != "" {
				h.renderPublish(w, r, http.StatusCreated, views.PublishForm{}, slug, secret)
				return
			}
			h.sessions.Put(r.Context(), sessFlash, "Published version "+m.Version+".")
			seeOther(w, r, "/marketplace/"+slug)
			return
		}
	}
	if !withManifestErrors(&form, err) {
		h.fail(w, r, err)
		return
	}
	h.renderModulePage(w, r, http.StatusUnprocessableEntity, form)
}

func (h *Handler) unlistModule(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if err := h.cfg.Marketplace.Unlist(r.Context(), auditActor(r), slug, r.PostFormValue("reason")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Unlisted.")
	seeOther(w, r, "/marketplace/"+slug)
}

func (h *Handler) relistModule(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if err := h.cfg.Marketplace.Relist(r.Context(), auditActor(r), slug, r.PostFormValue("reason")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Listed again.")
	seeOther(w, r, "/marketplace/"+slug)
}

func (h *Handler) yankVersion(w http.ResponseWriter, r *http.Request) {
	slug, version := chi.URLParam(r, "slug"), chi.URLParam(r, "version")
	if err := h.cfg.Marketplace.Yank(r.Context(), auditActor(r), slug, version, r.PostFormValue("reason")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Yanked "+version+".")
	seeOther(w, r, "/marketplace/"+slug)
}

func (h *Handler) developersPage(w http.ResponseWriter, r *http.Request) {
	h.renderDevelopers(w, r, http.StatusOK, "", "")
}

func (h *Handler) renderDevelopers(w http.ResponseWriter, r *http.Request, st int, email, msg string) {
	devs, err := h.cfg.Marketplace.Developers(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.MarketplaceDevelopersPage{Chrome: h.chrome(r, "Developers · Marketplace", "marketplace"), Email: email, Error: msg}
	for _, d := range devs {
		p.Developers = append(p.Developers, views.DeveloperRow{UserID: d.UserID, Email: d.Email, Name: d.DisplayName})
	}
	h.render(w, r, st, views.MarketplaceDevelopers(p))
}

func (h *Handler) setDeveloper(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	on := r.PostFormValue("developer") == "on"
	u, err := h.auth.UserByEmail(r.Context(), email)
	if errors.Is(err, auth.ErrUserNotFound) {
		h.renderDevelopers(w, r, http.StatusBadRequest, email, "No account has that email address.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.cfg.Marketplace.SetDeveloper(r.Context(), auditActor(r), u.ID, on); err != nil {
		h.fail(w, r, err)
		return
	}
	msg := u.Email + " may now publish modules."
	if !on {
		msg = u.Email + " may no longer publish modules."
	}
	h.sessions.Put(r.Context(), sessFlash, msg)
	seeOther(w, r, "/marketplace/developers")
}
