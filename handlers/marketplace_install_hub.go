package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// The hub's install pages: the install form of a module and the community's
// installed modules. Owners and admins install and change; members see the
// installed list.

func (h *Handler) installHubRoutes(r chi.Router) {
	r.Get("/marketplace/installed", h.installedPage)
	r.Group(func(r chi.Router) {
		r.Use(h.requireManager)
		r.Get("/marketplace/{slug}/install", h.installPage)
		r.Post("/marketplace/{slug}/install", h.installModule)
		r.Post("/marketplace/installed/{slug}/change", h.changeInstall)
		r.Post("/marketplace/installed/{slug}/accept", h.acceptInstall)
		r.Post("/marketplace/installed/{slug}/uninstall", h.uninstallModule)
	})
}

func (h *Handler) installPage(w http.ResponseWriter, r *http.Request) {
	h.renderInstall(w, r, http.StatusOK, r.URL.Query().Get("version"), nil, "", false, nil)
}

// renderInstall renders the install form for a version, with what was typed and the error.
func (h *Handler) renderInstall(w http.ResponseWriter, r *http.Request, st int, version string, typed url.Values, prefix string, accepted bool, fail error) {
	m := membershipOf(r)
	c, err := h.cfg.Marketplace.InstallChoice(r.Context(), chi.URLParam(r, "slug"), version)
	if err != nil && version != "" && problem.As(err) != nil && problem.As(err).Field == "version" {
		c, err = h.cfg.Marketplace.InstallChoice(r.Context(), chi.URLParam(r, "slug"), "")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.InstallPage{Chrome: h.chrome(r, "Install "+c.Name+" · "+m.Name, "communities"), CommunityID: m.ID, Slug: c.Slug,
		ModuleName: c.Name, Version: c.Version, Capabilities: capLines(c.Capabilities), Commands: c.Commands, Prefix: prefix, Accepted: accepted}
	for _, v := range c.Versions {
		p.Versions = append(p.Versions, versionOption(v, c.Version))
	}
	var ce marketplace.ConfigErrors
	errors.As(fail, &ce)
	p.Fields = configInputs(c.Schema, typed, nil, false, ce)
	if fail != nil {
		p.Error, p.Field = message(fail), fieldOf(fail, nil)
	}
	h.render(w, r, st, views.Install(p))
}

func (h *Handler) installModule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	slug := chi.URLParam(r, "slug")
	version := r.PostForm.Get("version")
	accepted := r.PostForm.Get("accept") == "all"
	var accept []marketplace.Capability
	c, err := h.cfg.Marketplace.InstallChoice(r.Context(), slug, version)
	if err == nil && accepted {
		accept = c.Capabilities
	}
	if err == nil {
		_, err = h.cfg.Marketplace.Install(r.Context(), auditActor(r), m.ID, marketplace.InstallInput{Slug: slug, Version: version,
			Accept: accept, Config: formConfig(c.Schema, r.PostForm), Prefix: r.PostForm.Get("prefix")})
	}
	if err != nil {
		if problem.As(err) == nil {
			h.fail(w, r, err)
			return
		}
		h.renderInstall(w, r, status(err), version, r.PostForm, r.PostForm.Get("prefix"), accepted, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s is installed: try its commands in the simulator.", c.Name))
	seeOther(w, r, botPath(m.ID, "marketplace/installed"))
}

func (h *Handler) installedPage(w http.ResponseWriter, r *http.Request) {
	h.renderInstalled(w, r, http.StatusOK, "", nil, nil)
}

// renderInstalled renders the installed modules, with an error on one of them.
func (h *Handler) renderInstalled(w http.ResponseWriter, r *http.Request, st int, slug string, typed url.Values, fail error) {
	m := membershipOf(r)
	list, err := h.cfg.Marketplace.Installed(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.InstalledPage{Chrome: h.chrome(r, "Installed modules · "+m.Name, "communities"), CommunityID: m.ID, CanManage: m.Role.CanManage(),
		Unpaid: h.lapsedBanner(r)} // the renew banner (marketplace_pay.go)
	for _, in := range list {
		row := views.InstalledRow{Slug: in.Slug, Name: in.ModuleName, Version: in.Version, Prefix: in.Prefix, Commands: in.Commands,
			Granted: capLines(in.Granted), Yanked: in.Yanked, YankedReason: in.YankedReason, Lapsed: in.Lapsed}
		if in.Pending != nil {
			row.Pending, row.Missing = in.Pending.Version, capLines(in.Pending.Missing)
		}
		if p.CanManage {
			versions, err := h.cfg.Marketplace.VersionChoices(r.Context(), in.Slug)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			for _, v := range versions {
				o := versionOption(v, in.Version)
				o.Disabled = v.Yanked && v.Version != in.Version
				row.Versions = append(row.Versions, o)
			}
			values := url.Values{}
			for k, v := range in.Config {
				values.Set("config."+k, fmt.Sprint(v))
			}
			var ce marketplace.ConfigErrors
			if in.Slug == slug {
				values = typed
				errors.As(fail, &ce)
				row.Error = message(fail)
			}
			row.Fields = configInputs(in.Schema, values, in.Config, in.HasSecrets, ce)
		}
		p.Installs = append(p.Installs, row)
	}
	h.render(w, r, st, views.Installed(p))
}

func (h *Handler) changeInstall(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	slug := chi.URLParam(r, "slug")
	version := r.PostForm.Get("version")
	c, err := h.cfg.Marketplace.InstallChoice(r.Context(), slug, version)
	var res marketplace.ChangeResult
	if err == nil {
		res, err = h.cfg.Marketplace.ChangeVersion(r.Context(), auditActor(r), m.ID, slug, version, nil, formConfig(c.Schema, r.PostForm))
	}
	if err != nil {
		if problem.As(err) == nil {
			h.fail(w, r, err)
			return
		}
		h.renderInstalled(w, r, status(err), slug, r.PostForm, err)
		return
	}
	msg := fmt.Sprintf("%s now runs version %s.", res.Install.ModuleName, res.Install.Version)
	if res.Waiting {
		msg = fmt.Sprintf("Version %s of %s waits for you to accept what it may newly do.", version, res.Install.ModuleName)
	}
	h.sessions.Put(r.Context(), sessFlash, msg)
	seeOther(w, r, botPath(m.ID, "marketplace/installed"))
}

func (h *Handler) acceptInstall(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	var accept []marketplace.Capability
	for _, c := range r.PostForm["accept"] {
		accept = append(accept, marketplace.Capability(c))
	}
	in, err := h.cfg.Marketplace.AcceptPending(r.Context(), auditActor(r), m.ID, chi.URLParam(r, "slug"), accept)
	if err != nil {
		if problem.As(err) == nil {
			h.fail(w, r, err)
			return
		}
		h.renderInstalled(w, r, status(err), chi.URLParam(r, "slug"), nil, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s now runs version %s.", in.ModuleName, in.Version))
	seeOther(w, r, botPath(m.ID, "marketplace/installed"))
}

func (h *Handler) uninstallModule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := h.cfg.Marketplace.Uninstall(r.Context(), auditActor(r), m.ID, chi.URLParam(r, "slug")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "The module is uninstalled and its commands are gone.")
	seeOther(w, r, botPath(m.ID, "marketplace/installed"))
}

func capLines(cs []marketplace.Capability) []views.CapabilityLine {
	out := make([]views.CapabilityLine, len(cs))
	for i, c := range cs {
		out[i] = views.CapabilityLine{Name: string(c), Text: c.Describe()}
	}
	return out
}

func versionOption(v marketplace.VersionChoice, current string) views.VersionOption {
	o := views.VersionOption{Version: v.Version, Label: v.Version, Selected: v.Version == current, Disabled: v.Yanked}
	switch {
	case v.Yanked:
		o.Label += " (yanked)"
	case v.Prerelease:
		o.Label += " (prerelease)"
	}
	return o
}

// formConfig reads a config form: "config.<field>" values; an unchecked
// checkbox is false; an empty secret keeps the stored one.
func formConfig(schema marketplace.ConfigSchema, form url.Values) map[string]any {
	out := map[string]any{}
	for _, f := range schema.Fields {
		key := "config." + f.Name
		if f.Type == marketplace.FieldBoolean {
			out[f.Name] = form.Get(key) == "true"
			continue
		}
		if v, ok := form[key]; ok && len(v) > 0 {
			out[f.Name] = strings.TrimSpace(v[0])
		}
	}
	return out
}

// configInputs builds a schema's form fields with the values shown (never a
// secret's) and the errors.
func configInputs(schema marketplace.ConfigSchema, values url.Values, stored map[string]any, hasSecrets bool, errs marketplace.ConfigErrors) []views.ConfigInput {
	out := make([]views.ConfigInput, 0, len(schema.Fields))
	for _, f := range schema.Fields {
		in := views.ConfigInput{Name: f.Name, Label: f.Title, Description: f.Description, Required: f.Required, MaxLength: f.MaxLength,
			Options: f.Enum, Error: errs.Field(f.Name)}
		v, given := values["config."+f.Name]
		switch {
		case given && len(v) > 0:
			in.Value = v[0]
		case f.Default != nil:
			in.Value = fmt.Sprint(f.Default)
		}
		switch f.Type {
		case marketplace.FieldBoolean:
			in.Kind = "checkbox"
			in.Checked = in.Value == "true"
		case marketplace.FieldNumber:
			in.Kind = "number"
			if f.Minimum != nil {
				in.Min = strconv.FormatFloat(*f.Minimum, 'g', -1, 64)
			}
			if f.Maximum != nil {
				in.Max = strconv.FormatFloat(*f.Maximum, 'g', -1, 64)
			}
		case marketplace.FieldEnum:
			in.Kind = "select"
		case marketplace.FieldSecret:
			in.Kind, in.Value = "password", ""
			in.SecretSet = hasSecrets
		default:
			in.Kind = "text"
		}
		out = append(out, in)
	}
	return out
}
