package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/importer/importtest"
)

// apiUpload posts a multipart body to the API.
func (e *env) apiUpload(t *testing.T, key, path string, fields map[string]string, files ...uploadFile) (int, string) {
	t.Helper()
	ct, body := multipartBody(t, fields, files...)
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1"+path, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The import API: create from files or a token, read the preview, apply
// with choices, follow the progress, undo; bad requests name the problem;
// members may not import.
func TestImportAPI(t *testing.T) {
	t.Parallel()
	se := importtest.StartStreamElements(t)
	se.SetPoints([]importtest.SEPoints{{Username: "ada", Points: 50}})
	e := newEnv(t, withStreamElements(se))
	root := e.user("root@example.com", true)
	mem := e.user("mem@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{mem: community.Member})
	key := e.apiKey(root, auth.RoleUser)
	base := fmt.Sprintf("/communities/%d/imports", c.ID)

	st, body := e.apiUpload(t, key, base, map[string]string{"source": "nightbot"}, uploadFile{"commands.json", hubNightbotCommands})
	if st != http.StatusCreated || !strings.Contains(body, `"state":"previewed"`) || !strings.Contains(body, `"name":"followage"`) || !strings.Contains(body, "urlfetch") {
		t.Fatalf("create: %d %s", st, body)
	}
	st, out := e.api(key, "GET", base, "")
	list, _ := out["data"].([]any)
	if st != 200 || len(list) != 1 {
		t.Fatalf("list: %d %v", st, out)
	}
	id := int64(list[0].(map[string]any)["id"].(float64))
	st, out = e.api(key, "GET", fmt.Sprintf("%s/%d", base, id), "")
	if st != 200 || out["data"].(map[string]any)["preview"] == nil {
		t.Fatalf("get: %d %v", st, out)
	}

	for _, bad := range []string{`{"all_conflicts": "merge"}`, `{"conflicts": {"hug": "maybe"}}`, `{"other_currencies": "all"}`, `[`} {
		if st, out := e.api(key, "POST", fmt.Sprintf("%s/%d/apply", base, id), bad); st != http.StatusBadRequest || out["message"] == "" {
			t.Errorf("apply %s: %d %v", bad, st, out)
		}
	}
	st, out = e.api(key, "POST", fmt.Sprintf("%s/%d/apply", base, id), `{"all_conflicts": "rename"}`)
	if st != http.StatusAccepted || out["data"].(map[string]any)["state"] != "applying" {
		t.Fatalf("apply: %d %v", st, out)
	}
	if st, _ := e.api(key, "POST", fmt.Sprintf("%s/%d/apply", base, id), `{}`); st != http.StatusConflict {
		t.Errorf("a second apply: %d", st)
	}
	e.runImport(t, c.ID, id)
	st, out = e.api(key, "GET", fmt.Sprintf("%s/%d", base, id), "")
	d := out["data"].(map[string]any)
	if st != 200 || d["state"] != "applied" || d["progress"].(map[string]any)["percent"].(float64) != 100 || d["undo_until"] == nil {
		t.Fatalf("after apply: %d %v", st, d)
	}
	st, out = e.api(key, "POST", fmt.Sprintf("%s/%d/undo", base, id), "")
	if st != 200 || out["data"].(map[string]any)["state"] != "undone" {
		t.Fatalf("undo: %d %v", st, out)
	}

	// StreamElements from a token in JSON; a refused token is a 400.
	st, body2 := e.apiBody(key, "POST", base, fmt.Sprintf(`{"source": "streamelements", "token": %q}`, se.Token()))
	if st != http.StatusCreated || !strings.Contains(body2, `"viewers":1`) {
		t.Errorf("streamelements: %d %s", st, body2)
	}
	cases := []struct {
		body string
		want string
	}{
		{`{"source": "streamelements", "token": "nope"}`, "StreamElements"},
		{`{"source": "nightbot"}`, "multipart/form-data"},
		{`{"source": "mixitup"}`, "Unknown source"},
		{`{}`, "source"},
	}
	for _, tc := range cases {
		if st, b := e.apiBody(key, "POST", base, tc.body); st != http.StatusBadRequest || !strings.Contains(b, tc.want) {
			t.Errorf("%s: %d %s", tc.body, st, b)
		}
	}
	if st, b := e.apiUpload(t, key, base, map[string]string{"source": "nightbot"}, uploadFile{"commands.json", `{"commands": [`}); st != http.StatusBadRequest || !strings.Contains(b, "commands.json, line 1") {
		t.Errorf("truncated upload: %d %s", st, b)
	}
	if st, _ := e.apiUpload(t, e.apiKey(mem, auth.RoleUser), base, map[string]string{"source": "nightbot"}, uploadFile{"commands.json", hubNightbotCommands}); st != http.StatusForbidden {
		t.Errorf("a member's upload: %d", st)
	}
	if st, _ := e.api(key, "GET", fmt.Sprintf("%s/%d", base, e.mustImport(t, e.community(root, "geese", nil).ID, false)), ""); st != http.StatusNotFound {
		t.Errorf("another community's import: %d", st)
	}
}
