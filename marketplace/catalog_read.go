package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Module returns the module with the given slug, listed or not (installed
// communities keep seeing an unlisted module).
func (s *Service) Module(ctx context.Context, slug string) (Module, error) {
	row, err := db.New(s.read).MarketplaceListingBySlug(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return Module{}, ErrNotFound
	}
	if err != nil {
		return Module{}, fmt.Errorf("load module %q: %w", slug, err)
	}
	return toModule(row), nil
}

// ModuleByID returns the module with the given id.
func (s *Service) ModuleByID(ctx context.Context, id int64) (Module, error) {
	return s.moduleByID(ctx, id)
}

func (s *Service) moduleByID(ctx context.Context, id int64) (Module, error) {
	row, err := db.New(s.pool).MarketplaceListingByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Module{}, ErrNotFound
	}
	if err != nil {
		return Module{}, fmt.Errorf("load module %d: %w", id, err)
	}
	return toModule(row), nil
}

// ModulesByAuthor lists a developer's modules, unlisted ones included.
func (s *Service) ModulesByAuthor(ctx context.Context, userID int64) ([]Module, error) {
	rows, err := db.New(s.read).MarketplaceListingByAuthor(ctx, &userID)
	if err != nil {
		return nil, fmt.Errorf("list modules of user %d: %w", userID, err)
	}
	out := make([]Module, len(rows))
	for i, r := range rows {
		out[i] = toModule(r)
	}
	return out, nil
}

// Versions lists a module's versions, newest first in semver order.
func (s *Service) Versions(ctx context.Context, moduleID int64) ([]Version, error) {
	rows, err := db.New(s.read).MarketplaceVersionListByModule(ctx, moduleID)
	if err != nil {
		return nil, fmt.Errorf("list versions of module %d: %w", moduleID, err)
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		if out[i], err = toVersion(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Version returns one version of a module.
func (s *Service) Version(ctx context.Context, moduleID int64, version string) (Version, error) {
	row, err := db.New(s.read).MarketplaceVersionGet(ctx, db.MarketplaceVersionGetParams{ModuleID: moduleID, Version: version})
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, problem.New(problem.NotFound, "No such version.")
	}
	if err != nil {
		return Version{}, fmt.Errorf("load version %s of module %d: %w", version, moduleID, err)
	}
	return toVersion(row)
}

// VersionByID returns a version by its id.
func (s *Service) VersionByID(ctx context.Context, id int64) (Version, error) {
	row, err := db.New(s.pool).MarketplaceVersionGetByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, problem.New(problem.NotFound, "No such version.")
	}
	if err != nil {
		return Version{}, fmt.Errorf("load version %d: %w", id, err)
	}
	return toVersion(row)
}

// Unlist takes a module out of the catalogue (global admins; the caller
// checks). Communities that installed it keep running it.
func (s *Service) Unlist(ctx context.Context, by audit.Actor, slug, reason string) error {
	return s.setListed(ctx, by, slug, false, reason)
}

// Relist puts an unlisted module back in the catalogue (global admins).
func (s *Service) Relist(ctx context.Context, by audit.Actor, slug, reason string) error {
	return s.setListed(ctx, by, slug, true, reason)
}

func (s *Service) setListed(ctx context.Context, by audit.Actor, slug string, listed bool, reason string) error {
	if len([]rune(reason)) > 500 {
		return problem.Invalidf("reason", "At most 500 characters.")
	}
	action, stored := audit.MarketplaceModuleRelisted, ""
	if !listed {
		action, stored = audit.MarketplaceModuleUnlisted, reason
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := db.New(tx).MarketplaceModuleSetListed(ctx, db.MarketplaceModuleSetListedParams{Slug: slug, Listed: listed, Reason: stored}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: action, Target: slug, After: map[string]any{"reason": reason}})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "No such module (core modules are always listed).")
	}
	if err != nil {
		return fmt.Errorf("set module %q listed=%v: %w", slug, listed, err)
	}
	return nil
}

// Yank marks a version as withdrawn (global admins): it cannot be newly
// installed; communities running it keep it and are told, with reason.
func (s *Service) Yank(ctx context.Context, by audit.Actor, slug, version, reason string) error {
	if len([]rune(reason)) > 500 {
		return problem.Invalidf("reason", "At most 500 characters.")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		mod, err := q.MarketplaceModuleLockBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if mod.Core {
			return problem.New(problem.Conflict, "A core module's version cannot be yanked.")
		}
		if _, err := q.MarketplaceVersionYank(ctx, db.MarketplaceVersionYankParams{ModuleID: mod.ID, Version: version, Reason: reason}); err != nil {
			return err
		}
		if err := q.MarketplaceModuleSetLatest(ctx, mod.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: audit.MarketplaceVersionYanked, Target: slug + "@" + version,
			After: map[string]any{"reason": reason}})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "No such module version.")
	}
	if err != nil {
		return fmt.Errorf("yank %s@%s: %w", slug, version, err)
	}
	return nil
}

// SetDeveloper grants or takes away a user's developer flag (global admins).
func (s *Service) SetDeveloper(ctx context.Context, by audit.Actor, userID int64, on bool) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		email, err := db.New(tx).UserSetDeveloper(ctx, db.UserSetDeveloperParams{ID: userID, Developer: on})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: audit.DeveloperFlagChanged, Target: email,
			After: map[string]any{"developer": on}})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "No such user.")
	}
	if err != nil {
		return fmt.Errorf("set developer flag of user %d: %w", userID, err)
	}
	return nil
}

// IsDeveloper reports whether the user may publish modules.
func (s *Service) IsDeveloper(ctx context.Context, userID int64) (bool, error) {
	on, err := db.New(s.pool).UserIsDeveloper(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load developer flag of user %d: %w", userID, err)
	}
	return on, nil
}

// Developer is a user with the developer flag.
type Developer struct {
	UserID      int64
	Email       string
	DisplayName string
}

// Developers lists the users with the developer flag.
func (s *Service) Developers(ctx context.Context) ([]Developer, error) {
	rows, err := db.New(s.pool).UserListDevelopers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list developers: %w", err)
	}
	out := make([]Developer, len(rows))
	for i, r := range rows {
		out[i] = Developer{UserID: r.ID, Email: r.Email, DisplayName: r.DisplayName}
	}
	return out, nil
}

func toModule(r db.MarketplaceListing) Module {
	m := Module{ID: r.ID, Slug: r.Slug, Name: r.Name, Summary: r.Summary, Description: r.Description, AuthorName: r.AuthorName,
		Homepage: r.Homepage, Category: r.Category, Labels: r.Labels, Core: r.Core,
		Price:  Price{Kind: r.PriceKind, Cents: int(r.PriceCents), Currency: r.Currency},
		Listed: r.Listed, UnlistedReason: r.UnlistedReason, ActiveInstalls: int(r.ActiveInstalls), RatingCount: int(r.RatingCount),
		Latest: r.LatestVersion, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.AuthorID != nil {
		m.AuthorID = *r.AuthorID
	}
	if r.RatingCount > 0 {
		m.RatingAverage = float64(r.RatingSum) / float64(r.RatingCount)
	}
	return m
}

func toVersion(r db.MarketplaceVersion) (Version, error) {
	v := Version{ID: r.ID, ModuleID: r.ModuleID, Version: r.Version, Changelog: r.Changelog, Yanked: r.Yanked,
		YankedReason: r.YankedReason, PublishedAt: r.PublishedAt}
	if err := json.Unmarshal(r.Manifest, &v.Manifest); err != nil {
		return Version{}, fmt.Errorf("decode manifest of version %d: %w", r.ID, err)
	}
	v.Capabilities = make([]Capability, len(r.Capabilities))
	for i, c := range r.Capabilities {
		v.Capabilities[i] = Capability(c)
	}
	return v, nil
}
