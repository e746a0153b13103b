package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Installed lists a community's installs: module, running version, granted
// capabilities, a version waiting for capabilities, yanked and lapsed state.
func (s *Service) Installed(ctx context.Context, communityID int64) ([]Install, error) {
	rows, err := db.New(s.pool).InstallListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list the installs of %d: %w", communityID, err)
	}
	out := make([]Install, 0, len(rows))
	for _, r := range rows {
		in, err := toInstall(r)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// installed is one of a community's installs by its module's slug.
func (s *Service) installed(ctx context.Context, communityID int64, slug string) (Install, error) {
	all, err := s.Installed(ctx, communityID)
	if err != nil {
		return Install{}, err
	}
	for _, in := range all {
		if in.Slug == slug {
			return in, nil
		}
	}
	return Install{}, ErrNotFound
}

// VersionChoices lists a module's versions, newest first, for a version picker.
func (s *Service) VersionChoices(ctx context.Context, slug string) ([]VersionChoice, error) {
	q := db.New(s.read)
	mod, err := q.InstallModuleBySlug(ctx, slug)
	if err != nil {
		return nil, installNotFound(err, "read module %q", slug)
	}
	rows, err := q.InstallVersionList(ctx, mod.ID)
	if err != nil {
		return nil, fmt.Errorf("list the versions of %q: %w", slug, err)
	}
	out := make([]VersionChoice, len(rows))
	for i, r := range rows {
		out[i] = VersionChoice{Version: r.Version, Yanked: r.Yanked, Prerelease: r.Prerelease != "", Capabilities: toCaps(r.Capabilities)}
	}
	return out, nil
}

// VersionChoice is a version as a picker lists it.
type VersionChoice struct {
	Version      string       `json:"version"`
	Yanked       bool         `json:"yanked"`
	Prerelease   bool         `json:"prerelease"`
	Capabilities []Capability `json:"capabilities"`
}

func toCaps(ss []string) []Capability {
	out := make([]Capability, len(ss))
	for i, s := range ss {
		out[i] = Capability(s)
	}
	return out
}

func toInstall(r db.InstallListByCommunityRow) (Install, error) {
	in := Install{ID: r.ID, CommunityID: r.CommunityID, ModuleID: r.ModuleID, Slug: r.Slug, ModuleName: r.ModuleName,
		VersionID: r.VersionID, Version: r.Version, Granted: toCaps(r.Granted), Config: map[string]any{}, HasSecrets: r.HasSecrets,
		Prefix: r.CommandPrefix, Yanked: r.Yanked, YankedReason: r.YankedReason, Paid: r.PriceKind != PriceFree, Lapsed: r.Lapsed,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Commands: []string{}}
	if len(r.Config) > 0 {
		if err := json.Unmarshal(r.Config, &in.Config); err != nil {
			return in, fmt.Errorf("read the config of %s: %w", r.Slug, err)
		}
	}
	pv, err := readVersion(db.MarketplaceVersion{Version: r.Version, Manifest: r.Manifest})
	if err != nil {
		return in, err
	}
	in.Schema = pv.schema
	for _, c := range pv.commands(r.CommandPrefix) {
		in.Commands = append(in.Commands, c.Name)
	}
	if r.PendingVersionID != nil {
		in.Pending = &Pending{Version: r.PendingVersion, Missing: missingCaps(r.PendingCapabilities, r.Granted, nil)}
	}
	return in, nil
}

// installNotFound turns a missing row into ErrNotFound and wraps other errors.
func installNotFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// Choice is what the install form shows for one version of a module.
type Choice struct {
	Slug         string
	Name         string
	Version      string
	Versions     []VersionChoice
	Capabilities []Capability
	Schema       ConfigSchema
	Commands     []string
}

// InstallChoice reads a module's version ("": the newest stable) for the
// install form: its capabilities, config schema and commands.
func (s *Service) InstallChoice(ctx context.Context, slug, version string) (Choice, error) {
	q := db.New(s.read)
	mod, err := q.InstallModuleBySlug(ctx, slug)
	if err != nil {
		return Choice{}, installNotFound(err, "read module %q", slug)
	}
	if !mod.Listed {
		return Choice{}, ErrNotFound
	}
	versions, err := s.VersionChoices(ctx, slug)
	if err != nil {
		return Choice{}, err
	}
	pv, err := s.pickVersion(ctx, q, mod.ID, version)
	if err != nil {
		return Choice{}, err
	}
	c := Choice{Slug: mod.Slug, Name: mod.Name, Version: pv.row.Version, Versions: versions, Capabilities: toCaps(pv.row.Capabilities), Schema: pv.schema}
	for _, cmd := range pv.commands("") {
		c.Commands = append(c.Commands, cmd.Name)
	}
	return c, nil
}
