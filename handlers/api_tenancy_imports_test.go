package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
)

// importsFixture is what the matrix's import routes work on: the import of
// A that the next write acts on (prep makes a fresh one, previewed for an
// apply and applied for an undo).
type importsFixture struct {
	current int64
}

// importsFingerprint is what the import routes change in a community.
const importsFingerprint = `(SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM imports WHERE community_id = $1)`

// importUploadBoundary is the fixed boundary of the matrix's upload body.
const importUploadBoundary = "matrixboundary"

func importUploadBody(*tenancyEnv, int) string {
	return "--" + importUploadBoundary + "\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nnightbot\r\n" +
		"--" + importUploadBoundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"commands.json\"\r\nContent-Type: application/json\r\n\r\n" +
		hubNightbotCommands + "\r\n--" + importUploadBoundary + "--\r\n"
}

func importTenancyRoutes() []tenancyRoute {
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	want := func(ok int) map[string][4]int {
		return map[string][4]int{"user": {ok, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {ok, ok, 401, ok}}
	}
	list := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/imports", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/imports", x.unknown) }
	one := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/imports/%d%s", x.a.ID, x.imports.current, suffix)
			},
			func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/imports/%d%s", x.unknown, x.imports.current, suffix)
			}
	}
	get, getU := one("")
	apply, applyU := one("/apply")
	undo, undoU := one("/undo")
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/imports", path: list, unknownPath: listU, body: noBody, want: want(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/imports", path: list, unknownPath: listU, body: importUploadBody,
			headers: func(*tenancyEnv, string) http.Header {
				return http.Header{"Content-Type": {"multipart/form-data; boundary=" + importUploadBoundary}}
			}, want: want(201)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/imports/{iid}", path: get, unknownPath: getU, body: noBody, want: want(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/imports/{iid}/apply", path: apply, unknownPath: applyU,
			body: func(*tenancyEnv, int) string { return `{"all_conflicts": "rename"}` },
			prep: func(t *testing.T, x *tenancyEnv) { x.imports.current = x.mustImport(t, x.a.ID, false) }, want: want(202)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/imports/{iid}/undo", path: undo, unknownPath: undoU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) { x.imports.current = x.mustImport(t, x.a.ID, true) }, want: want(200)},
	}
}

func (x *tenancyEnv) importsFixtures(t *testing.T) {
	t.Helper()
	x.imports.current = x.mustImport(t, x.a.ID, false)
	x.mustImport(t, x.b.ID, false)
}
