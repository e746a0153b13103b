package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

// marketplaceCatalogAPIRoutes: the catalogue for any user key; publishing for
// developers' user keys; unlisting and yanking for global admins' admin keys.
func (h *Handler) marketplaceCatalogAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin))
	r.Get("/marketplace/modules", h.apiSearchModules)
	r.Get("/marketplace/modules/{slug}", h.apiModule)
	r.Post("/marketplace/modules", h.apiCreateModule)
	r.Post("/marketplace/modules/{slug}/versions", h.apiPublishVersion)
	r.With(h.apiRoles(roleAdmin)).Post("/marketplace/modules/{slug}/unlist", h.apiUnlistModule)
	r.With(h.apiRoles(roleAdmin)).Post("/marketplace/modules/{slug}/relist", h.apiRelistModule)
	r.With(h.apiRoles(roleAdmin)).Post("/marketplace/modules/{slug}/versions/{version}/yank", h.apiYankVersion)
}

// parseSearch reads a catalogue search from query parameters (the API's
// and the hub's): q, category (levels joined by "/"), label, labels and
// label_match (all or any), price,
// min_rating, sort, limit, offset.
func parseSearch(v url.Values) (marketplace.SearchQuery, error) {
	q := marketplace.SearchQuery{Q: v.Get("q"), Label: v.Get("label"), Price: v.Get("price"), Sort: v.Get("sort"), LabelMatch: v.Get("label_match")}
	if ls := v.Get("labels"); ls != "" { // several labels, comma-separated: all of them, or any with label_match=any
		if len(ls) > 500 {
			return q, problem.Invalidf("labels", "labels is at most 500 characters.")
		}
		q.Labels = strings.Split(ls, ",")
	}
	if c := strings.Trim(v.Get("category"), "/ "); c != "" {
		for _, part := range strings.Split(c, "/") {
			q.Category = append(q.Category, strings.TrimSpace(part))
		}
	}
	num := func(name string) (int, error) {
		s := v.Get(name)
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, problem.Invalidf(name, "%s must be a whole number.", name)
		}
		return n, nil
	}
	var err error
	if q.Limit, err = num("limit"); err != nil {
		return q, err
	}
	if q.Offset, err = num("offset"); err != nil {
		return q, err
	}
	if s := v.Get("min_rating"); s != "" {
		if q.MinRating, err = strconv.ParseFloat(s, 64); err != nil {
			return q, problem.Invalidf("min_rating", "min_rating must be a number from 1 to 5.")
		}
	}
	return q, q.Normalize()
}

type searchJSON struct {
	marketplace.SearchResult
	NextOffset *int `json:"next_offset"` // null on the last page
}

func (h *Handler) apiSearchModules(w http.ResponseWriter, r *http.Request) {
	q, err := parseSearch(r.URL.Query())
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res, err := h.cfg.Marketplace.Search(r.Context(), q)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := searchJSON{SearchResult: res}
	if n := res.NextOffset(); n > 0 {
		out.NextOffset = &n
	}
	if out.Hits == nil {
		out.Hits = []marketplace.SearchHit{}
	}
	writeJSON(w, http.StatusOK, out, "")
}

type moduleJSON struct {
	Module   marketplace.Module    `json:"module"`
	Versions []marketplace.Version `json:"versions"`
}

func (h *Handler) apiModule(w http.ResponseWriter, r *http.Request) {
	m, err := h.cfg.Marketplace.Module(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	vs, err := h.cfg.Marketplace.Versions(r.Context(), m.ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, moduleJSON{Module: m, Versions: vs}, "")
}

// readManifest reads a manifest posted as JSON, with its optional
// "credentials" object, refusing it with every error by path.
func readManifest(w http.ResponseWriter, r *http.Request) (marketplace.Manifest, marketplace.Credentials, error) {
	var creds marketplace.Credentials
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, marketplace.MaxManifestBytes+8<<10))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return marketplace.Manifest{}, creds, marketplace.Problem([]marketplace.FieldError{{Message: fmt.Sprintf("the manifest is over %d bytes", marketplace.MaxManifestBytes)}})
	}
	if err != nil {
		return marketplace.Manifest{}, creds, problem.New(problem.Invalid, "Could not read the body.")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err == nil {
		if c, ok := doc["credentials"]; ok {
			dec := json.NewDecoder(strings.NewReader(string(c)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&creds); err != nil {
				return marketplace.Manifest{}, creds, marketplace.Problem([]marketplace.FieldError{{Path: "credentials",
					Message: "must be an object with openwhisk, or access_key_id and secret_access_key"}})
			}
			delete(doc, "credentials")
			raw, _ = json.Marshal(doc)
		}
	}
	m, errs := marketplace.ParseManifest(raw)
	return m, creds, marketplace.Problem(errs)
}

// apiManifestFail answers a refused manifest with 422 and every error by
// path; other errors as usual.
func (h *Handler) apiManifestFail(w http.ResponseWriter, r *http.Request, err error) {
	var me *marketplace.ManifestError
	if !errors.As(err, &me) {
		h.apiFail(w, r, err)
		return
	}
	msg := fmt.Sprintf("The manifest has %d problem(s): %s", len(me.Errors), me.Errors[0].Error())
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": me.Errors}, msg)
}

// apiDeveloper is the key's owner, who must publish with a user or admin
// key of their own (a key bound to one community may not).
func (h *Handler) apiDeveloper(r *http.Request) (audit.Actor, int64, error) {
	k := keyOf(r)
	if k.CommunityID != 0 {
		return audit.Actor{}, 0, problem.New(problem.Forbidden, "A key bound to one community may not publish modules.")
	}
	return audit.Actor{UserID: k.UserID, Email: k.Email, Name: "API key " + strconv.FormatInt(k.KeyID, 10), IP: ipOf(r)}, k.UserID, nil
}

type createdModuleJSON struct {
	Module  marketplace.Module  `json:"module"`
	Version marketplace.Version `json:"version"`
	// SigningSecret signs Waddle's calls to a webhook module: shown only now.
	SigningSecret string `json:"signing_secret,omitempty"`
}

func (h *Handler) apiCreateModule(w http.ResponseWriter, r *http.Request) {
	by, uid, err := h.apiDeveloper(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	m, creds, err := readManifest(w, r)
	if err != nil {
		h.apiManifestFail(w, r, err)
		return
	}
	mod, ver, secret, err := h.cfg.Marketplace.CreateModule(r.Context(), by, uid, m, creds)
	if err != nil {
		h.apiManifestFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdModuleJSON{Module: mod, Version: ver, SigningSecret: secret}, "")
}

func (h *Handler) apiPublishVersion(w http.ResponseWriter, r *http.Request) {
	by, uid, err := h.apiDeveloper(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	m, creds, err := readManifest(w, r)
	if err != nil {
		h.apiManifestFail(w, r, err)
		return
	}
	slug := chi.URLParam(r, "slug")
	ver, secret, err := h.cfg.Marketplace.PublishVersion(r.Context(), by, uid, slug, m, creds)
	if err != nil {
		h.apiManifestFail(w, r, err)
		return
	}
	mod, err := h.cfg.Marketplace.Module(r.Context(), slug)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdModuleJSON{Module: mod, Version: ver, SigningSecret: secret}, "")
}

// apiGlobalAdmin is the actor of a global admin's admin key.
func (h *Handler) apiGlobalAdmin(r *http.Request) (audit.Actor, error) {
	u, err := h.apiUser(r)
	if err != nil {
		return audit.Actor{}, err
	}
	if !u.IsAdmin || keyOf(r).CommunityID != 0 {
		return audit.Actor{}, problem.New(problem.Forbidden, "Only global admins may do that.")
	}
	return audit.Actor{UserID: u.ID, Email: u.Email, IP: ipOf(r)}, nil
}

type reasonJSON struct {
	Reason string `json:"reason"`
}

func (h *Handler) apiModeration(w http.ResponseWriter, r *http.Request, do func(by audit.Actor, reason string) error) {
	by, err := h.apiGlobalAdmin(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var in reasonJSON
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			h.apiFail(w, r, err)
			return
		}
	}
	if err := do(by, in.Reason); err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.apiModule(w, r)
}

func (h *Handler) apiUnlistModule(w http.ResponseWriter, r *http.Request) {
	h.apiModeration(w, r, func(by audit.Actor, reason string) error {
		return h.cfg.Marketplace.Unlist(r.Context(), by, chi.URLParam(r, "slug"), reason)
	})
}

func (h *Handler) apiRelistModule(w http.ResponseWriter, r *http.Request) {
	h.apiModeration(w, r, func(by audit.Actor, reason string) error {
		return h.cfg.Marketplace.Relist(r.Context(), by, chi.URLParam(r, "slug"), reason)
	})
}

func (h *Handler) apiYankVersion(w http.ResponseWriter, r *http.Request) {
	h.apiModeration(w, r, func(by audit.Actor, reason string) error {
		return h.cfg.Marketplace.Yank(r.Context(), by, chi.URLParam(r, "slug"), chi.URLParam(r, "version"), reason)
	})
}
