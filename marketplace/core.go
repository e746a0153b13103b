package marketplace

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/router"
)

// CoreVersion is the one version of every core module.
const CoreVersion = "1.0.0"

// CoreSlug is the marketplace slug of the built-in module named name.
func CoreSlug(name string) string { return "core-" + name }

// CoreManifest is the manifest of the core module listing the built-in d:
// free, by Waddle, one command run by the built-in itself.
func CoreManifest(d router.Declaration) Manifest {
	caps := make([]Capability, len(d.Capabilities))
	for i, c := range d.Capabilities {
		caps[i] = Capability(c)
	}
	return Manifest{
		Slug:         CoreSlug(d.Name),
		Name:         "!" + d.Name,
		Summary:      truncate(fmt.Sprintf("The built-in !%s command: %s.", d.Name, d.Usage), maxSummary),
		Description:  fmt.Sprintf("Built into Waddle and available in every community.\n\nUsage: `!%s %s`", d.Name, d.Usage),
		Category:     []string{"Core"},
		Labels:       []string{"core"},
		Price:        Price{Kind: PriceFree, Currency: "usd"},
		Version:      CoreVersion,
		Commands:     []CommandSpec{{Name: d.Name, Usage: d.Usage, Permission: d.Permission}},
		Executor:     Executor{Kind: ExecBuiltin, Module: d.Name},
		Capabilities: caps,
		Changelog:    "Built into Waddle.",
	}
}

// SyncCore lists each built-in module as a core module of the catalogue,
// creating those missing and refreshing their listings; it is idempotent
// and runs at every start. A slug already taken by an author's module is
// left alone.
func (s *Service) SyncCore(ctx context.Context, decls []router.Declaration) error {
	for _, d := range decls {
		m := CoreManifest(d)
		if errs := ValidateManifest(&m); len(errs) > 0 {
			return fmt.Errorf("core module %s: %w", d.Name, Problem(errs))
		}
		sv, err := parseVersion(m.Version)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			q := db.New(tx)
			id, err := q.MarketplaceCoreUpsert(ctx, db.MarketplaceCoreUpsertParams{Slug: m.Slug, Name: m.Name, Summary: m.Summary,
				Description: m.Description, Category: m.Category, Labels: m.Labels})
			if errors.Is(err, pgx.ErrNoRows) {
				s.logger.WarnContext(ctx, "a published module holds a core module's slug", "slug", m.Slug)
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := insertVersion(ctx, q, id, m, sv, nil); err != nil && !errors.Is(err, errVersionTaken) {
				return err
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sync core module %s: %w", d.Name, err)
		}
	}
	return nil
}
