package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/importer/importtest"
)

// Hand-written in the shape of Nightbot's GET /1/commands.
const hubNightbotCommands = `{
  "_total": 3,
  "status": 200,
  "commands": [
    {"_id": "5f01", "name": "!discord", "message": "Join us: https://discord.example/abc", "coolDown": 30, "count": 12, "userLevel": "everyone"},
    {"_id": "5f02", "name": "!hug", "message": "$(user) hugs $(touser)!", "coolDown": 5, "count": 40, "userLevel": "everyone"},
    {"_id": "5f03", "name": "!followage", "message": "$(urlfetch https://api.example/followage/$(user))", "coolDown": 10, "count": 0, "userLevel": "moderator"}
  ]
}`

// uploadFile is one file of a multipart upload.
type uploadFile struct{ name, body string }

// multipartBody builds a multipart body with the fields and files.
func multipartBody(t testing.TB, fields map[string]string, files ...uploadFile) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("files", f.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// upload posts files to a source's import form.
func (c *client) upload(cid int64, source string, files ...uploadFile) response {
	c.t.Helper()
	ct, body := multipartBody(c.t, nil, files...)
	return c.send("POST", fmt.Sprintf("/c/%d/imports/new/%s", cid, source), ct, body, nil)
}

var importIDRE = regexp.MustCompile(`/imports/(\d+)$`)

// importOf reads the import id a create redirected to.
func importOf(t *testing.T, res response) int64 {
	t.Helper()
	m := importIDRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create: status %d, Location %q: %s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// runImport works the apply job of an import in the test, as the worker does.
func (e *env) runImport(t testing.TB, cid, id int64) {
	t.Helper()
	w := &importer.ApplyWorker{Service: e.cfg.Imports}
	if err := w.Work(context.Background(), &river.Job[importer.ApplyArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args: importer.ApplyArgs{CommunityID: cid, ImportID: id}}); err != nil {
		t.Fatal(err)
	}
}

// mustImport stores a Nightbot import in cid, applied when asked.
func (e *env) mustImport(t testing.TB, cid int64, apply bool) int64 {
	t.Helper()
	b := &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: fmt.Sprintf("imported%d", time.Now().UnixNano()%1e9),
		Response: "hello {user}", Original: "hello $(user)", Permission: "everyone", SourceLevel: "everyone", Enabled: true}}}
	ctx := context.Background()
	imp, err := e.cfg.Imports.Create(ctx, audit.Actor{}, cid, b, []string{"commands.json"})
	if err != nil {
		t.Fatal(err)
	}
	if apply {
		if err := e.cfg.Imports.Apply(ctx, audit.Actor{}, cid, imp.ID, importer.Choices{}); err != nil {
			t.Fatal(err)
		}
		e.runImport(t, cid, imp.ID)
	}
	return imp.ID
}

// A manager uploads Nightbot's commands, reads the preview (with the
// translation beside the original and what needs attention), chooses for a
// conflict, applies, follows the progress stream to the report, and undoes.
func TestImportHubFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	mgr := e.signedIn("root@example.com")
	// An existing !hug: a conflict.
	if res := mgr.post(fmt.Sprintf("/c/%d/commands", c.ID), url.Values{"name": {"hug"}, "response": {"a hug from the house"}, "permission": {"everyone"}}, nil); res.StatusCode >= 400 {
		t.Fatalf("create !hug: %d %s", res.StatusCode, res.body)
	}

	doc := mgr.get(fmt.Sprintf("/c/%d/imports", c.ID), nil).doc(t)
	if doc.Find(`[data-testid=import-source]`).Length() != len(importer.Sources) || doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text() != "Import from another bot" {
		t.Fatalf("sources page: %s", doc.Find("main").Text())
	}
	form := mgr.get(fmt.Sprintf("/c/%d/imports/new/nightbot", c.ID), nil).doc(t)
	if form.Find(`[data-testid=import-upload-form]`).Length() != 1 || form.Find(`[data-testid=nightbot-connect]`).Length() != 0 {
		t.Errorf("nightbot without an app: upload only")
	}

	id := importOf(t, mgr.upload(c.ID, "nightbot", uploadFile{"commands.json", hubNightbotCommands}))
	if n := e.count("SELECT count(*) FROM commands WHERE community_id = $1", c.ID); n != 1 {
		t.Fatalf("the preview wrote commands: %d", n)
	}
	pv := mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	adapted := pv.Find(`[data-testid=import-command-adapted] [data-name="!followage"]`)
	if adapted.Find(`[data-testid=import-original]`).Text() == "" || !strings.Contains(adapted.Find(`[data-testid=import-attention]`).Text(), "urlfetch") {
		t.Errorf("followage is not shown adapted with its reason: %s", pv.Find(`[data-testid=import-category-command]`).Text())
	}
	if !strings.Contains(pv.Find(`[data-testid=import-command-adapted] [data-name="!hug"] [data-testid=import-text]`).Text(), "{user}") {
		t.Errorf("hug's translation: %s", pv.Find(`[data-testid=import-category-command]`).Text())
	}
	if pv.Find(`[data-testid=import-conflict][data-name=hug]`).Length() != 1 {
		t.Fatalf("no conflict row for !hug: %s", pv.Find("main").Text())
	}

	// A bad choice is refused on the preview, and nothing is applied.
	res := mgr.post(fmt.Sprintf("/c/%d/imports/%d/apply", c.ID, id), url.Values{"all_conflicts": {"merge"}}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "skip, rename or overwrite") {
		t.Fatalf("bad choice: %d", res.StatusCode)
	}
	res = mgr.post(fmt.Sprintf("/c/%d/imports/%d/apply", c.ID, id), url.Values{"all_conflicts": {"skip"}, "conflict.hug": {"rename"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("apply: %d %s", res.StatusCode, res.body)
	}
	prog := mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	if prog.Find(`[data-testid=import-progress]`).Length() != 1 || prog.Find(`[data-import-progress]`).AttrOr("data-import-progress", "") == "" {
		t.Fatalf("no progress page while applying: %s", prog.Find("main").Text())
	}

	// The stream reports progress, then done once the job has run.
	req, _ := http.NewRequest("GET", e.srv.URL+fmt.Sprintf("/c/%d/imports/%d/progress", c.ID, id), nil)
	stream, err := mgr.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream content type %q", stream.Header.Get("Content-Type"))
	}
	events := bufio.NewScanner(stream.Body)
	first := nextImportEvent(t, events)
	if first.name != "progress" || !strings.Contains(first.data, `"state":"applying"`) {
		t.Fatalf("first event: %+v", first)
	}
	e.runImport(t, c.ID, id)
	var last importEvent
	for last.name != "done" {
		last = nextImportEvent(t, events)
	}
	if !strings.Contains(last.data, `"percent":100`) || !strings.Contains(last.data, `"state":"applied"`) {
		t.Errorf("done event: %+v", last)
	}

	rep := mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	if rep.Find(`[data-testid=import-count][data-label=Commands]`).Text() != "3" || !strings.Contains(rep.Find(`[data-testid=import-renamed]`).Text(), "!hug → !hug_2") {
		t.Errorf("report: %s", rep.Find("main").Text())
	}
	if rep.Find(`[data-testid=import-undo]`).Length() != 1 {
		t.Fatal("no undo on a fresh import")
	}
	if n := e.count("SELECT count(*) FROM commands WHERE community_id = $1 AND import_id = $2", c.ID, id); n != 3 {
		t.Errorf("imported commands: %d", n)
	}
	list := mgr.get(fmt.Sprintf("/c/%d/imports", c.ID), nil).doc(t)
	if list.Find(`[data-testid=import-row][data-state=applied]`).Length() != 1 {
		t.Errorf("past imports: %s", list.Find(`[data-testid=imports]`).Text())
	}

	if mgr.get(fmt.Sprintf("/c/%d/imports/%d/undo", c.ID, id), nil).doc(t).Find(`[data-testid=import-undo-confirm]`).Length() != 1 {
		t.Fatal("no undo confirmation")
	}
	if res := mgr.post(fmt.Sprintf("/c/%d/imports/%d/undo", c.ID, id), url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("undo: %d %s", res.StatusCode, res.body)
	}
	if n := e.count("SELECT count(*) FROM commands WHERE community_id = $1", c.ID); n != 1 {
		t.Errorf("after undo, commands: %d (want the house's !hug only)", n)
	}
	rep = mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	if rep.Find(`[data-testid=import-state]`).Text() != "Undone" || rep.Find(`[data-testid=import-undo]`).Length() != 0 {
		t.Errorf("undone report: %s", rep.Find("main").Text())
	}
	if res := mgr.post(fmt.Sprintf("/c/%d/imports/%d/undo", c.ID, id), url.Values{}, nil); res.StatusCode < 400 {
		t.Errorf("a second undo: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action LIKE 'import_%'", c.ID); n < 3 {
		t.Errorf("audit entries for the import: %d", n)
	}
}

type importEvent struct{ name, data string }

func nextImportEvent(t *testing.T, sc *bufio.Scanner) importEvent {
	t.Helper()
	var ev importEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case line == "" && ev.name != "":
			return ev
		}
	}
	t.Fatalf("the stream ended: %v", sc.Err())
	return ev
}

// Bad uploads are refused on the form, naming the file and the problem, and
// store nothing.
func TestImportBadFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	mgr := e.signedIn("root@example.com")
	truncated := hubNightbotCommands[:strings.Index(hubNightbotCommands, `"!hug"`)]
	cases := []struct {
		name  string
		files []uploadFile
		want  string
	}{
		{"truncated JSON", []uploadFile{{"commands.json", truncated}}, fmt.Sprintf("commands.json, line %d", strings.Count(truncated, "\n")+1)},
		{"too large for its kind", []uploadFile{{"commands.json", `{"commands": [], "pad": "` + strings.Repeat("x", importer.MaxCommandsBytes) + `"}`}}, "commands.json: the file is larger than 5 MiB"},
		{"empty", []uploadFile{{"timers.json", ""}}, "timers.json: the file is empty"},
		{"no files", nil, "Choose at least one file"},
		{"too many files", func() []uploadFile {
			var fs []uploadFile
			for i := range 21 {
				fs = append(fs, uploadFile{fmt.Sprintf("c%d.json", i), "{}"})
			}
			return fs
		}(), "at most 20 files"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := mgr.upload(c.ID, "nightbot", tc.files...)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", res.StatusCode, res.body)
			}
			if got := res.doc(t).Find(`[data-testid=form-error]`).Text(); !strings.Contains(got, tc.want) {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
	// Over the browser's limit in all: a zip streamed past 50 MiB.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, _ := mw.CreateFormFile("files", "profile.zip")
		chunk := bytes.Repeat([]byte{'z'}, 1<<20)
		for range 52 {
			if _, err := w.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+fmt.Sprintf("/c/%d/imports/new/firebot", c.ID), pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res := mgr.do(req)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.doc(t).Find(`[data-testid=form-error]`).Text(), "larger than 50 MiB") {
		t.Errorf("a 52 MiB upload: %d %s", res.StatusCode, res.doc(t).Find(`[data-testid=form-error]`).Text())
	}
	if res := mgr.send("POST", fmt.Sprintf("/c/%d/imports/new/nightbot", c.ID), "application/json", []byte(`{}`), nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("not multipart: %d", res.StatusCode)
	}
	if res := mgr.upload(c.ID, "mixitup", uploadFile{"a.json", "{}"}); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown source: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM imports"); n != 0 {
		t.Errorf("bad uploads stored %d imports", n)
	}
}

// Only managers reach the import pages; another community's import is a 404.
func TestImportPermissionsAndTenancy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	mem := e.user("mem@example.com", false)
	bOwner := e.user("bowner@example.com", false)
	a := e.community(root, "ducks", map[auth.User]community.Role{mem: community.Member})
	b := e.community(root, "geese", map[auth.User]community.Role{bOwner: community.Owner})
	idA := e.mustImport(t, a.ID, false)
	idB := e.mustImport(t, b.ID, false)

	member := e.signedIn("mem@example.com")
	for _, p := range []string{"/imports", "/imports/new/nightbot", fmt.Sprintf("/imports/%d", idA)} {
		if res := member.get(fmt.Sprintf("/c/%d%s", a.ID, p), nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: %d", p, res.StatusCode)
		}
	}
	if res := member.post(fmt.Sprintf("/c/%d/imports/%d/apply", a.ID, idA), url.Values{}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member apply: %d", res.StatusCode)
	}
	if doc := member.get(fmt.Sprintf("/c/%d/commands", a.ID), nil).doc(t); doc.Find(`[data-testid=community-nav] a[href$="/imports"]`).Length() != 0 {
		t.Error("members see the import page in the navigation")
	}

	mgr := e.signedIn("root@example.com")
	for _, p := range []string{fmt.Sprintf("/imports/%d", idB), fmt.Sprintf("/imports/%d/undo", idB), fmt.Sprintf("/imports/%d/progress", idB)} {
		if res := mgr.get(fmt.Sprintf("/c/%d%s", a.ID, p), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("A's page for B's import %s: %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"apply", "undo"} {
		if res := mgr.post(fmt.Sprintf("/c/%d/imports/%d/%s", a.ID, idB, p), url.Values{}, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s of B's import through A: %d", p, res.StatusCode)
		}
	}
	if st := e.importState(t, idB); st != importer.StatePreviewed {
		t.Errorf("B's import is %s", st)
	}
	// A non-member of A gets 404 for the whole section.
	if res := e.signedIn("bowner@example.com").get(fmt.Sprintf("/c/%d/imports", a.ID), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("non-member: %d", res.StatusCode)
	}
}

func (e *env) importState(t testing.TB, id int64) string {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(context.Background(), "SELECT state FROM imports WHERE id = $1", id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func withStreamElements(f *importtest.StreamElements) envOption {
	return func(c *handlers.Config) {
		c.StreamElementsAPI = &importer.StreamElementsAPI{BaseURL: f.URL(), HTTP: http.DefaultClient}
	}
}

// StreamElements is read with a pasted token that is neither stored nor
// shown back; a refused token is a clear error.
func TestImportStreamElementsToken(t *testing.T) {
	t.Parallel()
	se := importtest.StartStreamElements(t)
	se.SetCommands(`{"_id":"c1","command":"lurk","reply":"${user} is lurking","cooldown":{"user":15,"global":5},"accessLevel":100,"enabled":true,"aliases":[]}`)
	se.SetPoints([]importtest.SEPoints{{Username: "ada", Points: 1200}, {Username: "bob", Points: 30}})
	e := newEnv(t, withStreamElements(se))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	mgr := e.signedIn("root@example.com")
	path := fmt.Sprintf("/c/%d/imports/new/streamelements", c.ID)
	if doc := mgr.get(path, nil).doc(t); doc.Find(`[data-testid=import-token-form]`).Length() != 1 {
		t.Fatal("no token form")
	}
	for _, bad := range []string{"", "not a token", se.Issue(time.Now().Add(-time.Hour))} {
		res := mgr.post(path, url.Values{"token": {bad}}, nil)
		if res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`[data-testid=form-error]`).Text() == "" {
			t.Errorf("token %q: %d", bad, res.StatusCode)
		}
		if bad != "" && strings.Contains(res.body, bad) {
			t.Errorf("the page shows the token back")
		}
	}
	id := importOf(t, mgr.post(path, url.Values{"token": {se.Token()}}, nil))
	pv := mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	if pv.Find(`[data-testid=import-points-viewers]`).Text() != "2" || pv.Find(`[data-testid=import-points-total]`).Text() != "1230" {
		t.Errorf("points preview: %s", pv.Find(`[data-testid=import-points]`).Text())
	}
	if n := e.count("SELECT count(*) FROM imports WHERE bundle::text LIKE '%' || $1 || '%'", se.Token()); n != 0 {
		t.Error("the token is stored in the import")
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE coalesce(after::text, '') LIKE '%' || $1 || '%'", se.Token()); n != 0 {
		t.Error("the token is in the audit log")
	}
}
