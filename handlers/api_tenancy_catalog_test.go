package handlers_test

import (
	"context"
	"encoding/json"

	"github.com/waddle/waddle/marketplace"
)

// The catalogue's routes belong to no community: reads are for every user
// and admin key, publishing for developers (no key in the matrix has the
// flag, so each is refused the same way for a module that does not
// exist), and moderation for global admins' admin keys. None changes a
// community, so the moderation routes are checked as read-only for A.

// catalogFixture stores the matrix's catalogue module (once) and returns its slug.
func (x *tenancyEnv) catalogFixture() string {
	x.env.t.Helper()
	ctx := context.Background()
	m := marketplace.Manifest{Slug: "matrix-cat", Name: "Matrix", Summary: "test", Version: "1.0.0", Price: marketplace.Price{Kind: "free"},
		Commands: []marketplace.CommandSpec{{Name: "matcat"}}, Capabilities: []marketplace.Capability{marketplace.CapChat},
		Executor: marketplace.Executor{Kind: marketplace.ExecWebhook, URL: "https://example.com/hook"}}
	raw, _ := json.Marshal(m)
	_, err := x.env.pool.Exec(ctx, `
WITH m AS (INSERT INTO marketplace_modules (slug, name, summary, author_name, latest_version) VALUES ('matrix-cat', 'Matrix', 'test', 'tester', '1.0.0')
           ON CONFLICT (slug) DO NOTHING RETURNING id)
INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest, capabilities)
SELECT id, '1.0.0', 1, 0, 0, $1, '{chat}' FROM m`, raw)
	if err != nil {
		x.env.t.Fatal(err)
	}
	return "matrix-cat"
}

func catalogTenancyRoutes() []tenancyRoute {
	refused := [4]int{403, 403, 401, 403}
	read := map[string][4]int{"user": {200, 200, 200, 200}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}
	publish := map[string][4]int{"user": {403, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {403, 403, 401, 403}}
	moderate := map[string][4]int{"user": {403, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}
	mod := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string { return "/marketplace/modules/" + x.catalogFixture() + suffix },
			func(*tenancyEnv) string { return "/marketplace/modules/no-such-mod" + suffix }
	}
	manifest := func(slug string) func(*tenancyEnv, int) string {
		return func(*tenancyEnv, int) string { return catalogManifest(slug, "2.0.0") }
	}
	noBody := func(*tenancyEnv, int) string { return "" }
	reason := func(*tenancyEnv, int) string { return `{"reason":"matrix"}` }
	one, oneU := mod("")
	versions, versionsU := mod("/versions")
	unlist, unlistU := mod("/unlist")
	relist, relistU := mod("/relist")
	yank, yankU := mod("/versions/1.0.0/yank")
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/marketplace/modules", path: func(*tenancyEnv) string { return "/marketplace/modules?q=matrix" },
			unknownPath: func(*tenancyEnv) string { return "/marketplace/modules?q=nothing" }, body: noBody, want: read},
		{method: "GET", pattern: "/api/v1/marketplace/modules/{slug}", path: one, unknownPath: oneU, body: noBody, want: read},
		{method: "POST", pattern: "/api/v1/marketplace/modules", path: func(*tenancyEnv) string { return "/marketplace/modules" },
			unknownPath: func(*tenancyEnv) string { return "/marketplace/modules" }, body: manifest("matrix-new"), want: publish},
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/versions", path: versions, unknownPath: versionsU,
			body: manifest("matrix-cat"), unknownBody: manifest("no-such-mod"), want: publish},
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/unlist", path: unlist, unknownPath: unlistU, body: reason, readOnly: true, want: moderate},
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/relist", path: relist, unknownPath: relistU, body: reason, readOnly: true, want: moderate},
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/versions/{version}/yank", path: yank, unknownPath: yankU, body: reason,
			readOnly: true, want: moderate},
	}
}
