package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/marketplace"
)

// The install routes work on the module "matrix-mod": 1.0.0 and 1.1.0 need
// chat, 1.2.0 also points:write (an upgrade to it waits for acceptance).

// mustMatrixModule stores the matrix's module once (as publishing would).
func (x *tenancyEnv) mustMatrixModule(t *testing.T) {
	t.Helper()
	mustTestModule(t, x.env, "matrix-mod", map[string][]marketplace.Capability{
		"1.0.0": {marketplace.CapChat}, "1.1.0": {marketplace.CapChat}, "1.2.0": {marketplace.CapChat, marketplace.CapPointsWrite}})
}

// mustTestModule stores a free webhook module whose versions each add !<slug>x.
func mustTestModule(t *testing.T, e *env, slug string, versions map[string][]marketplace.Capability) {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_modules (slug, name, summary, author_name) VALUES ($1, $1, 'test', 'tester')
		ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id`, slug).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for v, caps := range versions {
		m := marketplace.Manifest{Slug: slug, Name: slug, Summary: "test", Version: v, Capabilities: caps,
			Executor: marketplace.Executor{Kind: marketplace.ExecWebhook, URL: "https://example.com/hook"},
			Config:   json.RawMessage(`{"properties":{"greeting":{"type":"string","maxLength":20},"token":{"type":"secret"},"level":{"type":"enum","enum":["easy","hard"]}}}`),
			Commands: []marketplace.CommandSpec{{Name: fmt.Sprintf("%sx", slug[:3])}}}
		raw, _ := json.Marshal(m)
		var major, minor, patch int
		fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch)
		var capNames []string
		for _, c := range caps {
			capNames = append(capNames, string(c))
		}
		if _, err := e.pool.Exec(ctx, `INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest, capabilities)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (module_id, version) DO NOTHING`, id, v, major, minor, patch, raw, capNames); err != nil {
			t.Fatal(err)
		}
	}
}

// matrixInstall makes A's install of matrix-mod exactly version (none: not installed).
func (x *tenancyEnv) matrixInstall(t *testing.T, version string, pending string) {
	t.Helper()
	x.mustMatrixModule(t)
	ctx := context.Background()
	svc, a := x.cfg.Marketplace, audit.Actor{Name: "matrix"}
	if err := svc.Uninstall(ctx, a, x.a.ID, "matrix-mod"); err != nil && err != marketplace.ErrNotFound {
		t.Fatal(err)
	}
	if version == "" {
		return
	}
	if _, err := svc.Install(ctx, a, x.a.ID, marketplace.InstallInput{Slug: "matrix-mod", Version: version, Accept: []marketplace.Capability{marketplace.CapChat}}); err != nil {
		t.Fatal(err)
	}
	if pending != "" {
		if res, err := svc.ChangeVersion(ctx, a, x.a.ID, "matrix-mod", pending, nil, nil); err != nil || !res.Waiting {
			t.Fatalf("pending: %+v %v", res, err)
		}
	}
}

func installTenancyRoutes() []tenancyRoute {
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	ok := func(st int) map[string][4]int {
		return map[string][4]int{"user": {st, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {st, st, 401, st}}
	}
	list := func(x *tenancyEnv) string { return fmt.Sprintf("/marketplace/installs?community_id=%d", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/marketplace/installs?community_id=%d", x.unknown) }
	one := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/installs/matrix-mod%s?community_id=%d", suffix, x.a.ID)
			},
			func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/installs/matrix-mod%s?community_id=%d", suffix, x.unknown)
			}
	}
	slug, slugU := one("")
	acc, accU := one("/accept")
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/marketplace/installs/", path: list, unknownPath: listU, body: noBody, want: ok(200)},
		{method: "POST", pattern: "/api/v1/marketplace/installs/", path: list, unknownPath: listU,
			prep: func(t *testing.T, x *tenancyEnv) { x.matrixInstall(t, "", "") },
			body: func(*tenancyEnv, int) string {
				return `{"slug": "matrix-mod", "version": "1.0.0", "accept": ["chat"], "config": {"greeting": "hi", "token": "t"}}`
			}, want: ok(201)},
		{method: "PATCH", pattern: "/api/v1/marketplace/installs/{slug}", path: slug, unknownPath: slugU,
			prep: func(t *testing.T, x *tenancyEnv) { x.matrixInstall(t, "1.0.0", "") },
			body: func(*tenancyEnv, int) string { return `{"version": "1.1.0", "config": {"level": "hard"}}` }, want: ok(200)},
		{method: "DELETE", pattern: "/api/v1/marketplace/installs/{slug}", path: slug, unknownPath: slugU,
			prep: func(t *testing.T, x *tenancyEnv) { x.matrixInstall(t, "1.0.0", "") }, body: noBody, want: ok(200)},
		{method: "POST", pattern: "/api/v1/marketplace/installs/{slug}/accept", path: acc, unknownPath: accU,
			prep: func(t *testing.T, x *tenancyEnv) { x.matrixInstall(t, "1.0.0", "1.2.0") },
			body: func(*tenancyEnv, int) string { return `{"accept": ["points:write"]}` }, want: ok(200)},
	}
}
