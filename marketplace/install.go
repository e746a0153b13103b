package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Installing, upgrading, downgrading and uninstalling modules. Only a
// community's owners and admins may do these: the handlers check the role
// (the hub's community-role middleware, an API key's role) before calling;
// every query here filters by the community, so one community's install is
// never reached through another's id. Each change registers the version's
// commands with the router in the same transaction (all or none) and
// invalidates every instance's router cache once it commits.

// InstallInput is what an admin chooses when installing.
type InstallInput struct {
	Slug    string
	Version string         // "": the newest version that is neither yanked nor a prerelease
	Accept  []Capability   // the capabilities the admin accepts: all the version's, or the install is refused
	Config  map[string]any // form strings or JSON values, by field name
	Prefix  string         // "fun" installs !trivia as !fun_trivia; "" for none
}

// Install is a module installed in a community.
type Install struct {
	ID           int64          `json:"id"`
	CommunityID  int64          `json:"community_id"`
	ModuleID     int64          `json:"module_id"`
	Slug         string         `json:"slug"`
	ModuleName   string         `json:"module_name"`
	VersionID    int64          `json:"version_id"`
	Version      string         `json:"version"`
	Granted      []Capability   `json:"granted"`
	Config       map[string]any `json:"config"`      // the non-secret values
	HasSecrets   bool           `json:"has_secrets"` // secret values are never shown
	Prefix       string         `json:"prefix,omitempty"`
	Commands     []string       `json:"commands"` // as the community types them
	Pending      *Pending       `json:"pending,omitempty"`
	Yanked       bool           `json:"yanked"`
	YankedReason string         `json:"yanked_reason,omitempty"`
	Paid         bool           `json:"paid"`
	Lapsed       bool           `json:"lapsed"` // a paid module whose purchase is not in force
	Schema       ConfigSchema   `json:"-"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// Pending is an upgrade or downgrade waiting for an admin to accept new capabilities.
type Pending struct {
	Version string       `json:"version"`
	Missing []Capability `json:"missing"` // the capabilities it needs that are not granted
}

// ChangeResult is what ChangeVersion did: switched, or waiting for new capabilities.
type ChangeResult struct {
	Install Install      `json:"install"`
	Waiting bool         `json:"waiting"`           // the old version keeps running until AcceptPending
	Missing []Capability `json:"missing,omitempty"` // with Waiting: what to accept
}

// Install installs a module's version into a community.
func (s *Service) Install(ctx context.Context, by audit.Actor, communityID int64, in InstallInput) (Install, error) {
	prefix, err := normPrefix(in.Prefix)
	if err != nil {
		return Install{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		mod, err := q.InstallModuleBySlug(ctx, in.Slug)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("install %q: %w", in.Slug, err)
		}
		if !mod.Listed {
			return problem.New(problem.Conflict, "%s is no longer listed in the catalogue and cannot be installed.", mod.Name)
		}
		pv, err := s.pickVersion(ctx, q, mod.ID, in.Version)
		if err != nil {
			return err
		}
		if pv.row.Yanked {
			return problem.Invalidf("version", "Version %s of %s was yanked (%s); choose another.", pv.row.Version, mod.Name, pv.row.YankedReason)
		}
		if missing := missingCaps(pv.row.Capabilities, nil, in.Accept); len(missing) > 0 {
			return problem.Invalidf("accept", "Accept what %s may do before installing it; not accepted: %s.", mod.Name, capNames(missing))
		}
		if mod.PriceKind != PriceFree {
			paid, err := q.InstallPurchaseActive(ctx, db.InstallPurchaseActiveParams{CommunityID: communityID, ModuleID: mod.ID})
			if err != nil {
				return fmt.Errorf("install %q: read the purchase: %w", in.Slug, err)
			}
			if !paid {
				return problem.New(problem.PaymentRequired, "%s is a paid module: buy it for this community first.", mod.Name)
			}
		}
		plain, secrets, err := resolveConfig(pv.schema, in.Config, nil, nil)
		if err != nil {
			return err
		}
		cfg, sealed, err := s.storeConfig(plain, secrets)
		if err != nil {
			return err
		}
		var uid *int64
		if by.UserID != 0 {
			uid = &by.UserID
		}
		id, err := q.InstallInsert(ctx, db.InstallInsertParams{CommunityID: communityID, ModuleID: mod.ID, VersionID: pv.row.ID,
			Granted: pv.row.Capabilities, Config: cfg, SecretsSealed: sealed, CommandPrefix: prefix, InstalledBy: uid})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.Conflict, "%s is already installed in this community; upgrade or uninstall it instead.", mod.Name)
		}
		if err != nil {
			return fmt.Errorf("install %q: %w", in.Slug, err)
		}
		if err := s.setCommands(ctx, tx, communityID, id, pv, prefix); err != nil {
			return err
		}
		if err := q.InstallModuleCountAdd(ctx, db.InstallModuleCountAddParams{ID: mod.ID, Delta: 1}); err != nil {
			return fmt.Errorf("count the install of %q: %w", in.Slug, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleInstalled, Target: mod.Slug,
			After: installState{Version: pv.row.Version, Granted: pv.row.Capabilities, Config: plain, Secrets: secretNames(secrets), Prefix: prefix}})
	})
	if err != nil {
		return Install{}, err
	}
	s.settings.Invalidate(ctx, communityID)
	return s.installed(ctx, communityID, in.Slug)
}

// Uninstall removes an install and its commands at once.
func (s *Service) Uninstall(ctx context.Context, by audit.Actor, communityID int64, slug string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.InstallGetForUpdate(ctx, db.InstallGetForUpdateParams{CommunityID: communityID, Slug: slug})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("uninstall %q: %w", slug, err)
		}
		// The commands go with the install row (ON DELETE CASCADE).
		if _, err := q.InstallDelete(ctx, db.InstallDeleteParams{CommunityID: communityID, ID: row.ID}); err != nil {
			return fmt.Errorf("uninstall %q: %w", slug, err)
		}
		if err := q.InstallModuleCountAdd(ctx, db.InstallModuleCountAddParams{ID: row.ModuleID, Delta: -1}); err != nil {
			return fmt.Errorf("count the uninstall of %q: %w", slug, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleUninstalled, Target: slug})
	})
	if err != nil {
		return err
	}
	s.settings.Invalidate(ctx, communityID)
	return nil
}

// ChangeVersion upgrades or downgrades an install to version ("": keep the
// running version, to change only its config). The config keeps the values
// the new schema still allows; new required fields must come in config. A
// version that needs capabilities neither granted nor in accept waits as
// pending, and the running version keeps running until AcceptPending.
func (s *Service) ChangeVersion(ctx context.Context, by audit.Actor, communityID int64, slug, version string, accept []Capability, config map[string]any) (ChangeResult, error) {
	var res ChangeResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.InstallGetForUpdate(ctx, db.InstallGetForUpdateParams{CommunityID: communityID, Slug: slug})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("change the version of %q: %w", slug, err)
		}
		var pv storedVersion
		if version == "" {
			v, err := q.InstallVersionByID(ctx, db.InstallVersionByIDParams{ModuleID: row.ModuleID, ID: row.VersionID})
			if err != nil {
				return fmt.Errorf("change %q: read its version: %w", slug, err)
			}
			if pv, err = readVersion(v); err != nil {
				return err
			}
		} else {
			if pv, err = s.pickVersion(ctx, q, row.ModuleID, version); err != nil {
				return err
			}
			if pv.row.Yanked && pv.row.ID != row.VersionID {
				return problem.Invalidf("version", "Version %s was yanked (%s); choose another.", pv.row.Version, pv.row.YankedReason)
			}
		}
		oldPlain, oldSecrets, err := s.openConfig(row.Config, row.SecretsSealed)
		if err != nil {
			return err
		}
		plain, secrets, err := resolveConfig(pv.schema, config, oldPlain, oldSecrets)
		if err != nil {
			return err
		}
		missing := missingCaps(pv.row.Capabilities, row.Granted, accept)
		if len(missing) > 0 {
			// Keep the old version running; store the new values beside the
			// old ones so that accepting later needs nothing more.
			for k, v := range plain {
				oldPlain[k] = v
			}
			for k, v := range secrets {
				oldSecrets[k] = v
			}
			cfg, sealed, err := s.storeConfig(oldPlain, oldSecrets)
			if err != nil {
				return err
			}
			if err := q.InstallUpdate(ctx, db.InstallUpdateParams{CommunityID: communityID, ID: row.ID, VersionID: row.VersionID,
				Granted: row.Granted, Config: cfg, SecretsSealed: sealed, PendingVersionID: &pv.row.ID}); err != nil {
				return fmt.Errorf("change %q: %w", slug, err)
			}
			res.Waiting, res.Missing = true, missing
			return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleUpgradePending, Target: slug,
				After: map[string]any{"version": pv.row.Version, "missing": missing}})
		}
		return s.apply(ctx, tx, by, row, pv, plain, secrets)
	})
	if err != nil {
		return ChangeResult{}, err
	}
	if !res.Waiting {
		s.settings.Invalidate(ctx, communityID)
	}
	res.Install, err = s.installed(ctx, communityID, slug)
	return res, err
}

// AcceptPending accepts the capabilities of the version an install waits
// for, and switches to it.
func (s *Service) AcceptPending(ctx context.Context, by audit.Actor, communityID int64, slug string, accept []Capability) (Install, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.InstallGetForUpdate(ctx, db.InstallGetForUpdateParams{CommunityID: communityID, Slug: slug})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("accept for %q: %w", slug, err)
		}
		if row.PendingVersionID == nil {
			return problem.New(problem.Conflict, "No version of %s waits for capabilities.", slug)
		}
		v, err := q.InstallVersionByID(ctx, db.InstallVersionByIDParams{ModuleID: row.ModuleID, ID: *row.PendingVersionID})
		if err != nil {
			return fmt.Errorf("accept for %q: read the waiting version: %w", slug, err)
		}
		pv, err := readVersion(v)
		if err != nil {
			return err
		}
		if missing := missingCaps(pv.row.Capabilities, row.Granted, accept); len(missing) > 0 {
			return problem.Invalidf("accept", "Version %s also needs: %s.", pv.row.Version, capNames(missing))
		}
		oldPlain, oldSecrets, err := s.openConfig(row.Config, row.SecretsSealed)
		if err != nil {
			return err
		}
		plain, secrets, err := resolveConfig(pv.schema, nil, oldPlain, oldSecrets)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleCapabilitiesGranted, Target: slug,
			After: map[string]any{"version": pv.row.Version, "granted": pv.row.Capabilities}}); err != nil {
			return err
		}
		return s.apply(ctx, tx, by, row, pv, plain, secrets)
	})
	if err != nil {
		return Install{}, err
	}
	s.settings.Invalidate(ctx, communityID)
	return s.installed(ctx, communityID, slug)
}

// apply switches an install to a version whose capabilities are all
// accepted: its row, its config and its commands, in tx.
func (s *Service) apply(ctx context.Context, tx pgx.Tx, by audit.Actor, row db.MarketplaceInstall, pv storedVersion, plain, secrets map[string]any) error {
	cfg, sealed, err := s.storeConfig(plain, secrets)
	if err != nil {
		return err
	}
	if err := db.New(tx).InstallUpdate(ctx, db.InstallUpdateParams{CommunityID: row.CommunityID, ID: row.ID, VersionID: pv.row.ID,
		Granted: pv.row.Capabilities, Config: cfg, SecretsSealed: sealed}); err != nil {
		return fmt.Errorf("switch %s to %s: %w", pv.manifest.Slug, pv.row.Version, err)
	}
	if err := s.setCommands(ctx, tx, row.CommunityID, row.ID, pv, row.CommandPrefix); err != nil {
		return err
	}
	action := audit.ModuleVersionChanged
	if pv.row.ID == row.VersionID {
		action = audit.ModuleConfigChanged
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: row.CommunityID, Action: action, Target: pv.manifest.Slug,
		After: installState{Version: pv.row.Version, Granted: pv.row.Capabilities, Config: plain, Secrets: secretNames(secrets), Prefix: row.CommandPrefix}})
}

// setCommands registers the version's commands, turning a name clash into
// a problem that names it and suggests a prefix.
func (s *Service) setCommands(ctx context.Context, tx pgx.Tx, communityID, installID int64, pv storedVersion, prefix string) error {
	err := s.settings.SetInstallCommands(ctx, tx, communityID, installID, pv.commands(prefix))
	var clash *router.NameClash
	if errors.As(err, &clash) {
		hint := "fun"
		if prefix == hint {
			hint = "mod"
		}
		return problem.Invalidf("prefix", "!%s is already %s. Install under a prefix: %q makes it !%s_%s.",
			clash.Name, clash.HeldBy, hint, hint, ownName(clash.Name, prefix))
	}
	return err
}

func ownName(name, prefix string) string {
	if prefix != "" && len(name) > len(prefix)+1 && name[:len(prefix)+1] == prefix+"_" {
		return name[len(prefix)+1:]
	}
	return name
}

// pickVersion reads version ("" the newest stable, not yanked) of a module.
func (s *Service) pickVersion(ctx context.Context, q *db.Queries, moduleID int64, version string) (storedVersion, error) {
	var row db.MarketplaceVersion
	var err error
	if version == "" {
		row, err = q.InstallVersionNewest(ctx, moduleID)
		if errors.Is(err, pgx.ErrNoRows) {
			return storedVersion{}, problem.Invalidf("version", "The module has no version to install.")
		}
	} else {
		row, err = q.InstallVersionGet(ctx, db.InstallVersionGetParams{ModuleID: moduleID, Version: version})
		if errors.Is(err, pgx.ErrNoRows) {
			return storedVersion{}, problem.Invalidf("version", "There is no version %q of this module.", version)
		}
	}
	if err != nil {
		return storedVersion{}, fmt.Errorf("read version %q: %w", version, err)
	}
	return readVersion(row)
}

// storeConfig encodes the plain values and seals the secrets as one JSON object.
func (s *Service) storeConfig(plain, secrets map[string]any) ([]byte, []byte, error) {
	if plain == nil {
		plain = map[string]any{}
	}
	cfg, err := json.Marshal(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the config: %w", err)
	}
	if len(secrets) == 0 {
		return cfg, nil, nil
	}
	raw, err := json.Marshal(secrets)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the secrets: %w", err)
	}
	sealed, err := s.box.Seal(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("seal the secrets: %w", err)
	}
	return cfg, sealed, nil
}

// openConfig reads an install's stored values.
func (s *Service) openConfig(cfg, sealed []byte) (map[string]any, map[string]any, error) {
	plain, secrets := map[string]any{}, map[string]any{}
	if len(cfg) > 0 {
		if err := json.Unmarshal(cfg, &plain); err != nil {
			return nil, nil, fmt.Errorf("read the config: %w", err)
		}
	}
	if sealed != nil {
		raw, err := s.box.Open(sealed)
		if err != nil {
			return nil, nil, fmt.Errorf("open the secrets: %w", err)
		}
		if err := json.Unmarshal(raw, &secrets); err != nil {
			return nil, nil, fmt.Errorf("read the secrets: %w", err)
		}
	}
	return plain, secrets, nil
}

// installState is an install as the audit log records it: secrets by name only.
type installState struct {
	Version string         `json:"version"`
	Granted []string       `json:"granted"`
	Config  map[string]any `json:"config"`
	Secrets []string       `json:"secrets_set,omitempty"`
	Prefix  string         `json:"prefix,omitempty"`
}

func secretNames(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
