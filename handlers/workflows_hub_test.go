package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// withWorkflows turns the workflow engine on (no job workers: the hub's
// pages create, change and publish; runs are the engine's tests).
func withWorkflows(lic workflow.Licenser) envOption {
	return func(c *handlers.Config) {
		c.Workflows = workflow.NewService(workflow.ServiceConfig{Pool: c.Health.Primary, Licensing: lic})
	}
}

// refusingLicence refuses every publish beyond the first, as the free plan does.
type refusingLicence struct{ msg string }

func (l refusingLicence) CheckPublish(_ context.Context, _ int64, published int) error {
	if published >= 1 {
		return problem.New(problem.Forbidden, "%s", l.msg)
	}
	return nil
}

// raidDef is a trigger_event node (configured: raids on Twitch) and two
// pass-through nodes after it.
const raidDef = `{"nodes":[
	{"id":"event1","type":"trigger_event","position":{"x":40,"y":60},"config":{"platforms":["twitch"],"kinds":["raid"],"rules":[]}},
	{"id":"noop1","type":"flow_noop","label":"Thank","position":{"x":300,"y":40}},
	{"id":"noop2","type":"flow_noop","position":{"x":300,"y":180}}],
	"connections":[{"from":"event1","from_port":"out","to":"noop1","to_port":"in"},{"from":"event1","from_port":"out","to":"noop2","to_port":"in"}]}`

func (e *env) workflow(cid int64, name, def string) *workflow.Workflow {
	e.t.Helper()
	d, err := workflow.ParseDefinition([]byte(def))
	if err != nil {
		e.t.Fatal(err)
	}
	w, _, err := e.cfg.Workflows.Create(context.Background(), cid, audit.Actor{}, workflow.Input{Name: name, Definition: d})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func (e *env) draft(cid, id int64) workflow.Definition {
	e.t.Helper()
	w, err := e.cfg.Workflows.Get(context.Background(), cid, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return w.Definition
}

func (c *client) send(method, path, contentType string, body []byte, hdr http.Header) response {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.do(req)
}

var wantJSON = http.Header{"Accept": {"application/json"}}

type saveAnswer struct {
	OK      bool                `json:"ok"`
	Message string              `json:"message"`
	Status  string              `json:"status"`
	Version int32               `json:"version"`
	Report  workflow.Report     `json:"report"`
	Outputs map[string][]string `json:"outputs"`
}

func decodeAnswer(t *testing.T, res response) saveAnswer {
	t.Helper()
	var a saveAnswer
	if err := json.Unmarshal([]byte(res.body), &a); err != nil {
		t.Fatalf("answer is not JSON (%d): %v: %.300s", res.StatusCode, err, res.body)
	}
	return a
}

func TestWorkflowsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	mia := e.user("mia@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{mia: community.Member})
	owner := e.signedIn(root.Email)
	base := fmt.Sprintf("/c/%d/workflows", c.ID)

	res := owner.post(base, url.Values{"name": {"Thank raiders"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", res.StatusCode, res.body)
	}
	list, err := e.cfg.Workflows.List(context.Background(), c.ID)
	if err != nil || len(list) != 1 || list[0].Name != "Thank raiders" || list[0].Status != workflow.StatusDraft || len(list[0].Definition.Nodes) != 0 {
		t.Fatalf("after create: %+v, %v", list, err)
	}
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("%s/%d/edit", base, list[0].ID) {
		t.Errorf("create redirects to %q, want the builder", loc)
	}

	doc := owner.get(base, nil).doc(t)
	row := doc.Find(`[data-testid="workflow-row"]`)
	if row.Length() != 1 || row.Find(`[data-testid="workflow-row-name"]`).Text() != "Thank raiders" ||
		row.Find(`[data-testid="workflow-row-status"]`).Text() != "draft" || !strings.Contains(row.Find(`[data-testid="workflow-row-version"]`).Text(), "never published") {
		t.Errorf("row: %q", row.Text())
	}
	if href, _ := row.Find(`[data-testid="workflow-runs"]`).Attr("href"); href != fmt.Sprintf("%s/%d/runs", base, list[0].ID) {
		t.Errorf("runs link %q", href)
	}
	nav := doc.Find(`[data-testid="community-nav"]`)
	if a := nav.Find(`a[aria-current="page"]`); a.Text() != "Workflows" {
		t.Errorf("the navigation marks %q, want Workflows", a.Text())
	}
	if !strings.Contains(nav.Text(), "Automation") {
		t.Error("the navigation has no Automation group")
	}
	if doc.Find(`[data-testid="workflow-create-form"]`).Length() != 1 || doc.Find(`[data-testid="workflow-delete"]`).Length() != 1 {
		t.Error("the owner sees no create form or delete button")
	}

	// A member looks but has no forms.
	mdoc := e.signedIn(mia.Email).get(base, nil).doc(t)
	if mdoc.Find(`[data-testid="workflow-row"]`).Length() != 1 || mdoc.Find(`form`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		a, _ := s.Attr("action")
		return strings.HasPrefix(a, base)
	}).Length() != 0 {
		t.Error("a member should see the list without create, import or delete forms")
	}

	// Refusals beside their field.
	cases := []struct {
		name, value, want string
	}{
		{"empty", "  ", "Give the workflow a name."},
		{"taken", "Thank raiders", "Another workflow of this community has that name."},
		{"long", strings.Repeat("x", 101), "at most 100 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := owner.post(base, url.Values{"name": {tc.value}}, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", res.StatusCode)
			}
			msg := res.doc(t).Find(`[data-testid="form-error"][data-field="name"]`)
			if !strings.Contains(msg.Text(), tc.want) {
				t.Errorf("error beside name: %q, want %q", msg.Text(), tc.want)
			}
		})
	}

	// Delete, confirmed in place: HTMX gets an empty row.
	res = owner.post(fmt.Sprintf("%s/%d/delete", base, list[0].ID), nil, http.Header{"Hx-Request": {"true"}})
	if res.StatusCode != http.StatusOK || res.body != "" {
		t.Errorf("delete: %d %q", res.StatusCode, res.body)
	}
	if n := e.count("SELECT count(*) FROM workflows WHERE community_id = $1", c.ID); n != 0 {
		t.Errorf("%d workflows after delete", n)
	}
}

func TestWorkflowImportExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	owner := e.signedIn(root.Email)
	w := e.workflow(c.ID, "Raid thanks", raidDef)
	base := fmt.Sprintf("/c/%d/workflows", c.ID)

	res := owner.get(fmt.Sprintf("%s/%d/export", base, w.ID), nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", res.StatusCode, res.Header)
	}
	var ex workflow.Export
	if err := json.Unmarshal([]byte(res.body), &ex); err != nil || ex.Name != "Raid thanks" || len(ex.Definition.Nodes) != 3 || len(ex.Definition.Connections) != 2 {
		t.Fatalf("export: %+v, %v", ex, err)
	}

	// Pasted: the same JSON under another name.
	ex.Name = "Raid thanks (copy)"
	raw, _ := json.Marshal(ex)
	res = owner.post(base+"/import", url.Values{"json": {string(raw)}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d %.300s", res.StatusCode, res.body)
	}
	if n := e.count("SELECT count(*) FROM workflows WHERE community_id = $1 AND name = 'Raid thanks (copy)' AND status = 'draft'", c.ID); n != 1 {
		t.Fatal("the pasted import is not stored as a draft")
	}

	// A file.
	ex.Name = "From a file"
	raw, _ = json.Marshal(ex)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "flow.json")
	fw.Write(raw)
	mw.Close()
	res = owner.send("POST", base+"/import", mw.FormDataContentType(), body.Bytes(), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("file import: %d %.300s", res.StatusCode, res.body)
	}
	list, _ := e.cfg.Workflows.List(context.Background(), c.ID)
	var got *workflow.Workflow
	for i := range list {
		if list[i].Name == "From a file" {
			got = &list[i]
		}
	}
	if got == nil || len(got.Definition.Nodes) != 3 || string(got.Definition.Nodes[0].Config) == "" {
		t.Fatalf("the file's workflow: %+v", got)
	}

	bad := []struct{ name, json, want string }{
		{"empty", "", "Paste a workflow's exported JSON"},
		{"not JSON", "{nodes", "exported workflow"},
		{"unknown field", `{"name":"x","definition":{"nodes":[],"connections":[]},"evil":1}`, "evil"},
		{"unknown definition field", `{"name":"x","definition":{"nodes":[{"id":"a","type":"flow_noop","position":{"x":0,"y":0},"colour":"red"}],"connections":[]}}`, "colour"},
		{"no definition", `{"name":"x"}`, "no definition"},
		{"no name", `{"name":"","definition":{"nodes":[],"connections":[]}}`, "Give the workflow a name."},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := e.count("SELECT count(*) FROM workflows")
			res := owner.post(base+"/import", url.Values{"json": {tc.json}}, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", res.StatusCode)
			}
			doc := res.doc(t)
			msg := doc.Find(`[data-testid="form-error"]`).Text()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
			if tc.name != "no name" && doc.Find(`[data-field="json"]`).Length() != 1 {
				t.Error("the error is not beside the JSON field")
			}
			if after := e.count("SELECT count(*) FROM workflows"); after != before {
				t.Error("a refused import stored a workflow")
			}
		})
	}
}

func TestWorkflowBuilderPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	w := e.workflow(c.ID, "Raid thanks", raidDef)
	doc := e.signedIn(root.Email).get(fmt.Sprintf("/c/%d/workflows/%d/edit", c.ID, w.ID), nil).doc(t)

	for _, k := range workflow.Kinds() {
		item := doc.Find(fmt.Sprintf(`[data-testid="palette-%s"]`, k.Type))
		if title, _ := item.Attr("title"); item.Length() != 1 || title != k.Summary {
			t.Errorf("palette item %s: %d, title %q", k.Type, item.Length(), title)
		}
	}
	var st struct {
		Base       string                                        `json:"base"`
		Definition workflow.Definition                           `json:"definition"`
		Kinds      map[string]struct{ Inputs, Outputs []string } `json:"kinds"`
		Outputs    map[string][]string                           `json:"outputs"`
		Report     workflow.Report                               `json:"report"`
	}
	if err := json.Unmarshal([]byte(doc.Find("script#wf-state").Text()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Base != fmt.Sprintf("/c/%d/workflows/%d", c.ID, w.ID) || len(st.Definition.Nodes) != 3 || !st.Report.OK() {
		t.Errorf("state: %+v", st)
	}
	if k := st.Kinds["trigger_event"]; len(k.Inputs) != 0 || len(k.Outputs) != 1 {
		t.Errorf("trigger_event ports: %+v", k)
	}
	if got := st.Outputs["event1"]; len(got) != 1 || got[0] != "out" {
		t.Errorf("event1's outputs: %v", got)
	}
	if p := st.Kinds["flow_parallel"].Outputs; len(p) != 3 || p[2] != "done" {
		t.Errorf("flow_parallel's outputs: %v", p)
	}
	if typ, _ := doc.Find("script#wf-state").Attr("type"); typ != "application/json" {
		t.Errorf("the state is a %q script: the CSP allows no inline script", typ)
	}
}

func TestWorkflowNodeForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	w := e.workflow(c.ID, "Raid thanks", raidDef)
	owner := e.signedIn(root.Email)
	htmx := http.Header{"Hx-Request": {"true"}}
	node := func(id string) string { return fmt.Sprintf("/c/%d/workflows/%d/nodes/%s", c.ID, w.ID, id) }

	res := owner.get(node("event1"), htmx)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("form: %d %s", res.StatusCode, res.body)
	}
	doc := res.doc(t)
	if doc.Find(`[data-testid="node-choice-kinds-raid"]`).AttrOr("checked", "no") == "no" ||
		doc.Find(`[data-testid="node-choice-platforms-twitch"]`).AttrOr("checked", "no") == "no" ||
		doc.Find(`[data-testid="node-choice-platforms-discord"]`).AttrOr("checked", "no") != "no" {
		t.Errorf("the form does not show the stored configuration: %s", res.body)
	}
	if doc.Find(`textarea[name="rules"]`).Length() != 1 {
		t.Error("rules have no field")
	}
	// A node of a type the draft does not hold yet shows its type's defaults.
	res = owner.get(node("parallel1")+"?type=flow_parallel", htmx)
	if v, _ := res.doc(t).Find(`input[name="branches"]`).Attr("value"); res.StatusCode != http.StatusOK || v != "2" {
		t.Errorf("new node's form: %d, branches %q", res.StatusCode, v)
	}
	if res := owner.get(node("nope")+"?type=no_such_type", htmx); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown type: %d", res.StatusCode)
	}

	// Saved: the label and configuration are in the draft.
	res = owner.post(node("event1"), url.Values{"node_label": {"Big raids"}, "platforms": {"twitch", "discord"}, "kinds": {"raid", "follow"}, "rules": {"[]"}}, htmx)
	doc = res.doc(t)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="node-saved"]`).Length() != 1 {
		t.Fatalf("save: %d %s", res.StatusCode, res.body)
	}
	if l, _ := doc.Find(`[data-testid="node-form"]`).Attr("data-node-label"); l != "Big raids" {
		t.Errorf("data-node-label %q", l)
	}
	d := e.draft(c.ID, w.ID)
	n, _ := d.Node("event1")
	var cfg workflow.EventConfig
	if err := json.Unmarshal(n.Config, &cfg); err != nil || n.Label != "Big raids" || strings.Join(cfg.Kinds, ",") != "raid,follow" || strings.Join(cfg.Platforms, ",") != "twitch,discord" {
		t.Errorf("stored node: %+v (%s), %v", n, n.Config, err)
	}
	if len(d.Connections) != 2 {
		t.Errorf("the save lost connections: %+v", d.Connections)
	}

	// Saved but invalid: the validation's finding beside its field, and the
	// report for the canvas.
	res = owner.post(node("event1"), url.Values{"platforms": {"twitch"}, "rules": {""}}, htmx)
	doc = res.doc(t)
	if msg := doc.Find(`[data-testid="form-error"][data-field="kinds"]`).Text(); !strings.Contains(msg, "Choose at least one kind of event.") {
		t.Errorf("kinds error %q in %s", msg, res.body)
	}
	var rep workflow.Report
	json.Unmarshal([]byte(doc.Find(`[data-testid="node-form"]`).AttrOr("data-report", "")), &rep)
	if len(rep.Errors) != 1 || rep.Errors[0].Node != "event1" || rep.Errors[0].Field != "kinds" {
		t.Errorf("report: %+v", rep)
	}

	// Refused: nothing stored, the typed value kept, the error beside its field.
	bad := []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"not a number", url.Values{"branches": {"two"}}, "branches", `Branches is a whole number; "two" is not.`},
		{"fraction", url.Values{"branches": {"2.5"}}, "branches", "whole number"},
		{"label too long", url.Values{"node_label": {strings.Repeat("x", 101)}, "branches": {"3"}}, "node_label", "at most 100 characters"},
	}
	par := e.workflow(c.ID, "Parallel", `{"nodes":[{"id":"p","type":"flow_parallel","position":{"x":0,"y":0},"config":{"branches":2}}],"connections":[]}`)
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			res := owner.post(fmt.Sprintf("/c/%d/workflows/%d/nodes/p", c.ID, par.ID), tc.form, htmx)
			doc := res.doc(t)
			if msg := doc.Find(fmt.Sprintf(`[data-testid="form-error"][data-field=%q]`, tc.field)).Text(); !strings.Contains(msg, tc.want) {
				t.Errorf("error beside %s: %q, want %q; %s", tc.field, msg, tc.want, res.body)
			}
			if v := doc.Find(fmt.Sprintf(`[name=%q]`, tc.field)).AttrOr("value", ""); v != tc.form.Get(tc.field) {
				t.Errorf("the typed value is not kept: %q", v)
			}
			var cfg workflow.ParallelConfig
			if n := mustNode(t, e.draft(c.ID, par.ID), "p"); json.Unmarshal(n.Config, &cfg) != nil || cfg.Branches != 2 || n.Label != "" {
				t.Errorf("a refused save changed the node: %+v", n)
			}
		})
	}
	// A valid change of branches changes the node's ports.
	res = owner.post(fmt.Sprintf("/c/%d/workflows/%d/nodes/p", c.ID, par.ID), url.Values{"branches": {"3"}}, htmx)
	if outs := res.doc(t).Find(`[data-testid="node-form"]`).AttrOr("data-node-outputs", ""); outs != `["branch_1","branch_2","branch_3","done"]` {
		t.Errorf("outputs after 3 branches: %s", outs)
	}
	// A node the draft does not hold is refused.
	if res := owner.post(node("ghost"), url.Values{}, htmx); res.StatusCode != http.StatusConflict {
		t.Errorf("unsaved node: %d", res.StatusCode)
	}
}

// configOf decodes a stored node's configuration into cfg.
func configOf(t *testing.T, n workflow.Node, cfg any) {
	t.Helper()
	if err := json.Unmarshal(n.Config, cfg); err != nil {
		t.Fatalf("node %s: config %s: %v", n.ID, n.Config, err)
	}
}

func mustNode(t *testing.T, d workflow.Definition, id string) workflow.Node {
	t.Helper()
	n, ok := d.Node(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	return *n
}
