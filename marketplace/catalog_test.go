package marketplace_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

type catalogEnv struct {
	t    *testing.T
	pool *pgxpool.Pool
	svc  *marketplace.Service
	box  *secret.Box
}

func newCatalogEnv(t *testing.T) *catalogEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return &catalogEnv{t: t, pool: pool, box: box, svc: marketplace.New(marketplace.Config{Pool: pool, Box: box})}
}

// user creates an account; developer sets its developer flag.
func (e *catalogEnv) user(email string, developer bool) int64 {
	e.t.Helper()
	ctx := context.Background()
	u, err := db.New(e.pool).UserCreate(ctx, db.UserCreateParams{Email: email, DisplayName: "Dev " + email})
	if err != nil {
		e.t.Fatal(err)
	}
	if developer {
		if err := e.svc.SetDeveloper(ctx, audit.Actor{Name: "test"}, u.ID, true); err != nil {
			e.t.Fatal(err)
		}
	}
	return u.ID
}

// manifest decodes goodManifest with changes applied.
func manifest(t *testing.T, change func(map[string]any)) marketplace.Manifest {
	t.Helper()
	m := goodManifest()
	if change != nil {
		change(m)
	}
	out, errs := marketplace.ParseManifest(encode(t, m))
	if len(errs) > 0 {
		t.Fatalf("manifest: %v", errs)
	}
	return out
}

func TestCreateModuleAndPublishVersions(t *testing.T) {
	e := newCatalogEnv(t)
	ctx := context.Background()
	dev := e.user("dev@example.com", true)
	by := audit.Actor{UserID: dev}
	mod, ver, signing, err := e.svc.CreateModule(ctx, by, dev, manifest(t, nil), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if mod.Slug != "trivia-night" || mod.AuthorID != dev || mod.AuthorName != "Dev dev@example.com" || mod.Latest != "1.2.0" || !mod.Listed {
		t.Errorf("module %+v", mod)
	}
	if ver.Version != "1.2.0" || len(ver.Capabilities) != 2 || ver.Manifest.Commands[0].Name != "trivia" {
		t.Errorf("version %+v", ver)
	}
	if len(signing) < 40 {
		t.Errorf("signing secret %q", signing)
	}
	var sealed []byte
	if err := e.pool.QueryRow(ctx, "SELECT signing_secret_sealed FROM marketplace_modules WHERE id = $1", mod.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if plain, err := e.box.Open(sealed); err != nil || string(plain) != signing {
		t.Errorf("sealed secret opens to %q, %v", plain, err)
	}

	// Same version again: refused, naming the version.
	_, _, err = e.svc.PublishVersion(ctx, by, dev, "trivia-night", manifest(t, nil), marketplace.Credentials{})
	if p := problem.As(err); p == nil || p.Field != "version" {
		t.Errorf("republishing 1.2.0: %v", err)
	}
	// A lower version: refused.
	_, _, err = e.svc.PublishVersion(ctx, by, dev, "trivia-night", manifest(t, func(m map[string]any) { m["version"] = "1.1.9" }), marketplace.Credentials{})
	if p := problem.As(err); p == nil || p.Field != "version" {
		t.Errorf("publishing 1.1.9 after 1.2.0: %v", err)
	}
	// A later version updates the listing, keeps the signing secret.
	v2, secret2, err := e.svc.PublishVersion(ctx, by, dev, "trivia-night", manifest(t, func(m map[string]any) {
		m["version"] = "2.0.0-beta.1"
		m["summary"] = "Quiz your chat, now with teams."
		m["capabilities"] = []any{"chat", "dm"}
	}), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if secret2 != "" || v2.Version != "2.0.0-beta.1" {
		t.Errorf("second version %+v, secret %q", v2, secret2)
	}
	v3, _, err := e.svc.PublishVersion(ctx, by, dev, "trivia-night", manifest(t, func(m map[string]any) { m["version"] = "2.0.0" }), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Module(ctx, "trivia-night")
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != "Quiz your chat." || got.Latest != "2.0.0" {
		t.Errorf("after 2.0.0: %+v", got)
	}
	versions, err := e.svc.Versions(ctx, mod.ID)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, v := range versions {
		order = append(order, v.Version)
	}
	if len(order) != 3 || order[0] != "2.0.0" || order[1] != "2.0.0-beta.1" || order[2] != "1.2.0" {
		t.Errorf("versions %v", order)
	}
	one, err := e.svc.Version(ctx, mod.ID, "2.0.0-beta.1")
	if err != nil || one.ID != v2.ID || one.Capabilities[1] != marketplace.CapDM {
		t.Errorf("Version: %+v, %v", one, err)
	}
	if _, err := e.svc.Version(ctx, mod.ID, "9.9.9"); !problem.Is(err, problem.NotFound) {
		t.Errorf("missing version: %v", err)
	}

	// The database refuses to change a published version.
	if _, err := e.pool.Exec(ctx, "UPDATE marketplace_versions SET changelog = 'changed' WHERE id = $1", v3.ID); err == nil {
		t.Error("a published version was changed")
	}

	mine, err := e.svc.ModulesByAuthor(ctx, dev)
	if err != nil || len(mine) != 1 || mine[0].Slug != "trivia-night" {
		t.Errorf("ModulesByAuthor: %v, %v", mine, err)
	}
	if _, err := e.svc.Module(ctx, "nope"); !errors.Is(err, marketplace.ErrNotFound) {
		t.Errorf("missing module: %v", err)
	}
}

func TestPublishingPermissions(t *testing.T) {
	e := newCatalogEnv(t)
	ctx := context.Background()
	dev := e.user("dev@example.com", true)
	other := e.user("other@example.com", true)
	plain := e.user("plain@example.com", false)

	if _, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: plain}, plain, manifest(t, nil), marketplace.Credentials{}); !problem.Is(err, problem.Forbidden) {
		t.Errorf("non-developer publishing: %v", err)
	}
	if _, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, manifest(t, nil), marketplace.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: other}, other, manifest(t, nil), marketplace.Credentials{}); !problem.Is(err, problem.Invalid) || problem.As(err).Field != "slug" {
		t.Errorf("taken slug: %v", err)
	}
	next := manifest(t, func(m map[string]any) { m["version"] = "1.3.0" })
	if _, _, err := e.svc.PublishVersion(ctx, audit.Actor{UserID: other}, other, "trivia-night", next, marketplace.Credentials{}); !problem.Is(err, problem.Forbidden) {
		t.Errorf("another author publishing: %v", err)
	}
	if _, _, err := e.svc.PublishVersion(ctx, audit.Actor{UserID: dev}, dev, "no-such", manifest(t, func(m map[string]any) { m["slug"] = "no-such" }), marketplace.Credentials{}); !errors.Is(err, marketplace.ErrNotFound) {
		t.Errorf("unknown module: %v", err)
	}
	// The flag taken away: no more versions.
	if err := e.svc.SetDeveloper(ctx, audit.Actor{Name: "test"}, dev, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PublishVersion(ctx, audit.Actor{UserID: dev}, dev, "trivia-night", next, marketplace.Credentials{}); !problem.Is(err, problem.Forbidden) {
		t.Errorf("former developer publishing: %v", err)
	}
	// Built-in executors are Waddle's own.
	if err := e.svc.SetDeveloper(ctx, audit.Actor{Name: "test"}, dev, true); err != nil {
		t.Fatal(err)
	}
	builtin := manifest(t, func(m map[string]any) {
		m["slug"] = "my-points"
		m["executor"] = map[string]any{"kind": "builtin", "module": "points"}
	})
	_, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, builtin, marketplace.Credentials{})
	var me *marketplace.ManifestError
	if !errors.As(err, &me) || me.Errors[0].Path != "executor.kind" {
		t.Errorf("builtin executor by an author: %v", err)
	}
}

func TestCredentialsAreSealed(t *testing.T) {
	e := newCatalogEnv(t)
	ctx := context.Background()
	dev := e.user("dev@example.com", true)
	ow := func(m map[string]any) {
		m["executor"] = map[string]any{"kind": "openwhisk", "url": "https://ow.example.com", "action": "trivia"}
	}
	_, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, manifest(t, ow), marketplace.Credentials{})
	var me *marketplace.ManifestError
	if !errors.As(err, &me) || me.Errors[0].Path != "credentials.openwhisk" {
		t.Fatalf("openwhisk without credentials: %v", err)
	}
	_, ver, signing, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, manifest(t, ow), marketplace.Credentials{OpenWhisk: "user:key"})
	if err != nil {
		t.Fatal(err)
	}
	if signing != "" {
		t.Errorf("an OpenWhisk module got a signing secret")
	}
	var sealed []byte
	if err := e.pool.QueryRow(ctx, "SELECT credentials_sealed FROM marketplace_versions WHERE id = $1", ver.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	plain, err := e.box.Open(sealed)
	var c marketplace.Credentials
	if err != nil || json.Unmarshal(plain, &c) != nil || c.OpenWhisk != "user:key" {
		t.Errorf("credentials open to %s, %v", plain, err)
	}
	lam := manifest(t, func(m map[string]any) {
		m["slug"] = "lam"
		m["executor"] = map[string]any{"kind": "lambda", "function": "trivia", "region": "eu-west-1"}
	})
	if _, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, lam, marketplace.Credentials{AccessKeyID: "lower"}); !errors.As(err, &me) {
		t.Errorf("lambda with half the keys: %v", err)
	}
	if _, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, lam, marketplace.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "s3cr3t"}); err != nil {
		t.Errorf("lambda with keys: %v", err)
	}
}

func TestUnlistYankAndAudit(t *testing.T) {
	e := newCatalogEnv(t)
	ctx := context.Background()
	dev := e.user("dev@example.com", true)
	admin := audit.Actor{Name: "admin"}
	mod, _, _, err := e.svc.CreateModule(ctx, audit.Actor{UserID: dev}, dev, manifest(t, nil), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PublishVersion(ctx, audit.Actor{UserID: dev}, dev, mod.Slug, manifest(t, func(m map[string]any) { m["version"] = "1.3.0" }), marketplace.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Unlist(ctx, admin, mod.Slug, "spam"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.Module(ctx, mod.Slug)
	if got.Listed || got.UnlistedReason != "spam" {
		t.Errorf("after unlisting: %+v", got)
	}
	if err := e.svc.Relist(ctx, admin, mod.Slug, "appeal"); err != nil {
		t.Fatal(err)
	}
	if got, _ = e.svc.Module(ctx, mod.Slug); !got.Listed || got.UnlistedReason != "" {
		t.Errorf("after relisting: %+v", got)
	}
	if err := e.svc.Yank(ctx, admin, mod.Slug, "1.3.0", "leaks tokens"); err != nil {
		t.Fatal(err)
	}
	v, _ := e.svc.Version(ctx, mod.ID, "1.3.0")
	if !v.Yanked || v.YankedReason != "leaks tokens" {
		t.Errorf("yanked version %+v", v)
	}
	if got, _ = e.svc.Module(ctx, mod.Slug); got.Latest != "1.2.0" {
		t.Errorf("latest after yanking 1.3.0: %q", got.Latest)
	}
	if err := e.svc.Yank(ctx, admin, mod.Slug, "7.0.0", ""); !problem.Is(err, problem.NotFound) {
		t.Errorf("yanking a missing version: %v", err)
	}
	if err := e.svc.Unlist(ctx, admin, "nope", ""); !problem.Is(err, problem.NotFound) {
		t.Errorf("unlisting a missing module: %v", err)
	}
	var actions []string
	rows, err := e.pool.Query(ctx, "SELECT action FROM audit_log WHERE action LIKE 'marketplace_%' OR action = 'developer_flag_changed' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		rows.Scan(&a)
		actions = append(actions, a)
	}
	want := []string{audit.DeveloperFlagChanged, audit.MarketplaceModuleCreated, audit.MarketplaceVersionAdded, audit.MarketplaceModuleUnlisted,
		audit.MarketplaceModuleRelisted, audit.MarketplaceVersionYanked}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit actions %v, want %v", actions, want)
			break
		}
	}
}

func TestSyncCoreIsIdempotent(t *testing.T) {
	e := newCatalogEnv(t)
	ctx := context.Background()
	var decls []router.Declaration
	for _, m := range modules.All() {
		decls = append(decls, m.Declaration())
	}
	for range 2 {
		if err := e.svc.SyncCore(ctx, decls); err != nil {
			t.Fatal(err)
		}
	}
	var n, versions int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM marketplace_modules WHERE core").Scan(&n)
	e.pool.QueryRow(ctx, "SELECT count(*) FROM marketplace_versions v JOIN marketplace_modules m ON m.id = v.module_id WHERE m.core").Scan(&versions)
	if n != len(decls) || versions != len(decls) {
		t.Errorf("%d core modules with %d versions, want %d each", n, versions, len(decls))
	}
	give, err := e.svc.Module(ctx, "core-give")
	if err != nil {
		t.Fatal(err)
	}
	if !give.Core || give.AuthorName != "Waddle" || give.Price.Kind != marketplace.PriceFree || give.Latest != "1.0.0" {
		t.Errorf("core-give %+v", give)
	}
	v, err := e.svc.Version(ctx, give.ID, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Manifest.Executor.Kind != marketplace.ExecBuiltin || v.Manifest.Executor.Module != "give" || len(v.Capabilities) != 2 || v.Capabilities[1] != marketplace.CapPointsWrite {
		t.Errorf("core-give version %+v", v)
	}
	if err := e.svc.Unlist(ctx, audit.Actor{Name: "admin"}, "core-give", ""); !problem.Is(err, problem.NotFound) {
		t.Errorf("unlisting a core module: %v", err)
	}
}

func TestBuiltinsDeclareKnownCapabilities(t *testing.T) {
	for _, m := range modules.All() {
		d := m.Declaration()
		if len(d.Capabilities) == 0 {
			t.Errorf("%s declares no capabilities", d.Name)
		}
		for _, c := range d.Capabilities {
			if !marketplace.Capability(c).Known() {
				t.Errorf("%s declares unknown capability %q", d.Name, c)
			}
		}
	}
}
