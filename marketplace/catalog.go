package marketplace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
)

// Credentials are the author's keys for an OpenWhisk or Lambda executor,
// given with a version and sealed with it; never shown again.
type Credentials struct {
	OpenWhisk       string `json:"openwhisk,omitempty"` // "user:key"
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// ErrNotDeveloper refuses publishing to users without the developer flag.
var ErrNotDeveloper = problem.New(problem.Forbidden,
	"Only developers may publish modules; ask a global admin of this server to make you a developer.")

// errNotAuthor refuses a version from someone other than the module's author.
var errNotAuthor = problem.New(problem.Forbidden, "Only the module's author may publish its versions.")

// CreateModule publishes a new module with its first version, by userID (a
// developer). A webhook module gets a signing secret, returned here once:
// Waddle signs every call to the module with it.
func (s *Service) CreateModule(ctx context.Context, by audit.Actor, userID int64, m Manifest, creds Credentials) (Module, Version, string, error) {
	sealedCreds, sv, err := s.checkPublish(&m, creds)
	if err != nil {
		return Module{}, Version{}, "", err
	}
	var secret string
	var sealedSecret []byte
	if m.Executor.Kind == ExecWebhook {
		if secret, sealedSecret, err = s.newSigningSecret(); err != nil {
			return Module{}, Version{}, "", err
		}
	}
	var id int64
	var ver db.MarketplaceVersion
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		u, err := q.UserGet(ctx, userID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !u.IsDeveloper) {
			return ErrNotDeveloper
		}
		if err != nil {
			return err
		}
		id, err = q.MarketplaceModuleInsert(ctx, db.MarketplaceModuleInsertParams{Slug: m.Slug, Name: strings.TrimSpace(m.Name),
			Summary: strings.TrimSpace(m.Summary), Description: m.Description, AuthorID: &userID, AuthorName: authorName(u),
			Homepage: m.Homepage, Category: nonNil(m.Category), Labels: nonNil(m.Labels), PriceKind: m.Price.Kind,
			PriceCents: int32(m.Price.Cents), Currency: m.Price.Currency, SigningSecretSealed: sealedSecret})
		if db.IsUniqueViolation(err) {
			return problem.Invalidf("slug", "The slug %q is taken; choose another.", m.Slug)
		}
		if err != nil {
			return err
		}
		if ver, err = insertVersion(ctx, q, id, m, sv, sealedCreds); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: audit.MarketplaceModuleCreated, Target: m.Slug,
			After: map[string]any{"version": m.Version, "capabilities": m.Capabilities, "price": m.Price}})
	})
	if err != nil {
		return Module{}, Version{}, "", fmt.Errorf("create module %q: %w", m.Slug, err)
	}
	mod, err := s.moduleByID(ctx, id)
	if err != nil {
		return Module{}, Version{}, "", err
	}
	v, err := toVersion(ver)
	return mod, v, secret, err
}

// PublishVersion adds a version to the module named by slug, by its author;
// the manifest's listing fields update the listing. The version must be new
// and greater than every version published before. A webhook executor on a
// module without a signing secret makes one, returned once.
func (s *Service) PublishVersion(ctx context.Context, by audit.Actor, userID int64, slug string, m Manifest, creds Credentials) (Version, string, error) {
	if m.Slug == "" {
		m.Slug = slug
	}
	if m.Slug != slug {
		return Version{}, "", problem.Invalidf("slug", "The manifest is for %q, not %q.", m.Slug, slug)
	}
	sealedCreds, sv, err := s.checkPublish(&m, creds)
	if err != nil {
		return Version{}, "", err
	}
	var secret string
	var ver db.MarketplaceVersion
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if dev, err := q.UserIsDeveloper(ctx, userID); err != nil || !dev {
			return ErrNotDeveloper
		}
		mod, err := q.MarketplaceModuleLockBySlug(ctx, slug)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if mod.Core || mod.AuthorID == nil || *mod.AuthorID != userID {
			return errNotAuthor
		}
		versions, err := q.MarketplaceVersionListByModule(ctx, mod.ID)
		if err != nil {
			return err
		}
		for _, v := range versions {
			prev, err := parseVersion(v.Version)
			if err != nil {
				continue
			}
			if !sv.GreaterThan(prev) {
				return problem.Invalidf("version", "Version %s must be greater than every published version; the highest is %s.",
					m.Version, versions[0].Version)
			}
		}
		var sealedSecret []byte
		if m.Executor.Kind == ExecWebhook && mod.SigningSecretSealed == nil {
			if secret, sealedSecret, err = s.newSigningSecret(); err != nil {
				return err
			}
		}
		if err := q.MarketplaceModuleUpdateListing(ctx, db.MarketplaceModuleUpdateListingParams{ID: mod.ID,
			Name: strings.TrimSpace(m.Name), Summary: strings.TrimSpace(m.Summary), Description: m.Description,
			Homepage: m.Homepage, Category: nonNil(m.Category), Labels: nonNil(m.Labels), PriceKind: m.Price.Kind,
			PriceCents: int32(m.Price.Cents), Currency: m.Price.Currency, SigningSecretSealed: sealedSecret}); err != nil {
			return err
		}
		if ver, err = insertVersion(ctx, q, mod.ID, m, sv, sealedCreds); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: audit.MarketplaceVersionAdded, Target: slug + "@" + m.Version,
			After: map[string]any{"capabilities": m.Capabilities, "price": m.Price}})
	})
	if err != nil {
		return Version{}, "", fmt.Errorf("publish %s@%s: %w", slug, m.Version, err)
	}
	v, err := toVersion(ver)
	return v, secret, err
}

// checkPublish validates m for publishing and seals creds for its executor.
func (s *Service) checkPublish(m *Manifest, creds Credentials) ([]byte, *semverVersion, error) {
	if m.Price.Currency == "" {
		m.Price.Currency = "usd"
	}
	if m.Price.Kind == "" {
		m.Price.Kind = PriceFree
	}
	errs := ValidateManifest(m)
	if strings.HasPrefix(m.Slug, "core-") {
		errs = append(errs, FieldError{Path: "slug", Message: `slugs starting "core-" are reserved for Waddle's core modules`})
	}
	if m.Executor.Kind == ExecBuiltin {
		errs = append(errs, FieldError{Path: "executor.kind", Message: "builtin is reserved for Waddle's core modules"})
	}
	var plain []byte
	switch m.Executor.Kind {
	case ExecOpenWhisk:
		t := executor.Target{Kind: executor.OpenWhisk, URL: m.Executor.URL, Secret: creds.OpenWhisk, Action: m.Executor.Action,
			Namespace: m.Executor.Namespace}
		if err := t.Validate(); err != nil && problem.As(err) != nil && problem.As(err).Field == "Secret" {
			errs = append(errs, FieldError{Path: "credentials.openwhisk", Message: problem.As(err).Message})
		}
		plain, _ = json.Marshal(Credentials{OpenWhisk: creds.OpenWhisk})
	case ExecLambda:
		if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
			errs = append(errs, FieldError{Path: "credentials.access_key_id",
				Message: "a Lambda module needs the author's access key ID and secret access key"})
		} else {
			t := executor.Target{Kind: executor.Lambda, Function: m.Executor.Function, Region: m.Executor.Region,
				AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}
			if err := t.Validate(); err != nil && problem.As(err) != nil {
				if f := problem.As(err).Field; f == "AccessKeyID" || f == "SecretAccessKey" {
					errs = append(errs, FieldError{Path: "credentials." + map[string]string{"AccessKeyID": "access_key_id",
						"SecretAccessKey": "secret_access_key"}[f], Message: problem.As(err).Message})
				}
			}
		}
		plain, _ = json.Marshal(Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey})
	default:
		if creds != (Credentials{}) {
			errs = append(errs, FieldError{Path: "credentials", Message: "only OpenWhisk and Lambda executors take credentials"})
		}
	}
	if len(errs) > 0 {
		return nil, nil, Problem(errs)
	}
	sv, err := parseVersion(m.Version)
	if err != nil {
		return nil, nil, problem.Invalidf("version", "%v", err)
	}
	if plain == nil {
		return nil, sv, nil
	}
	if s.box == nil {
		return nil, nil, problem.New(problem.Conflict, "This server has no secret key set, so it cannot keep executor credentials.")
	}
	sealed, err := s.box.Seal(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("seal credentials: %w", err)
	}
	return sealed, sv, nil
}

func (s *Service) newSigningSecret() (string, []byte, error) {
	if s.box == nil {
		return "", nil, problem.New(problem.Conflict, "This server has no secret key set, so it cannot keep a signing secret.")
	}
	b := make([]byte, 32)
	rand.Read(b)
	secret := "whsec_" + hex.EncodeToString(b)
	sealed, err := s.box.Seal([]byte(secret))
	if err != nil {
		return "", nil, fmt.Errorf("seal signing secret: %w", err)
	}
	return secret, sealed, nil
}

// insertVersion stores a validated version and updates the module's latest.
func insertVersion(ctx context.Context, q *db.Queries, moduleID int64, m Manifest, sv *semverVersion, sealedCreds []byte) (db.MarketplaceVersion, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return db.MarketplaceVersion{}, err
	}
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	ver, err := q.MarketplaceVersionInsert(ctx, db.MarketplaceVersionInsertParams{ModuleID: moduleID, Version: m.Version,
		Major: int32(sv.Major()), Minor: int32(sv.Minor()), Patch: int32(sv.Patch()), Prerelease: sv.Prerelease(),
		Manifest: raw, Capabilities: caps, Changelog: m.Changelog, CredentialsSealed: sealedCreds})
	if errors.Is(err, pgx.ErrNoRows) {
		return ver, errAlreadyPublished(m.Version)
	}
	if err != nil {
		return ver, err
	}
	return ver, q.MarketplaceModuleSetLatest(ctx, moduleID)
}

// errVersionTaken marks publishing a version that exists.
var errVersionTaken = errors.New("version already published")

func errAlreadyPublished(v string) error {
	return fmt.Errorf("%w: %w", errVersionTaken,
		problem.Invalidf("version", "Version %s is already published; a published version never changes.", v))
}

func authorName(u db.User) string {
	if n := strings.TrimSpace(u.DisplayName); n != "" {
		return truncate(n, 100)
	}
	if local, _, _ := strings.Cut(u.Email, "@"); local != "" {
		return truncate(local, 100)
	}
	return "developer"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
