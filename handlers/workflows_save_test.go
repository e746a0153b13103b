package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/workflow"
)

func TestWorkflowSaveDefinition(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	w := e.workflow(c.ID, "Raid thanks", raidDef)
	owner := e.signedIn(root.Email)
	path := fmt.Sprintf("/c/%d/workflows/%d/definition", c.ID, w.ID)

	// The canvas: event1 moved, noop2 removed, a new event trigger (no
	// configuration on the canvas) and a parallel node wired in.
	canvas := `{"nodes":[
		{"id":"event1","type":"trigger_event","position":{"x":99,"y":77}},
		{"id":"noop1","type":"flow_noop","label":"Thanks","position":{"x":300,"y":40}},
		{"id":"event2","type":"trigger_event","position":{"x":40,"y":300}},
		{"id":"parallel1","type":"flow_parallel","position":{"x":500,"y":40}}],
		"connections":[{"from":"event1","from_port":"out","to":"noop1","to_port":"in"},
			{"from":"noop1","from_port":"out","to":"parallel1","to_port":"in"},
			{"from":"event2","from_port":"out","to":"noop1","to_port":"in"}]}`
	res := owner.send("PUT", path, "application/json", []byte(canvas), wantJSON)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, res.body)
	}
	ans := decodeAnswer(t, res)
	d := e.draft(c.ID, w.ID)
	if len(d.Nodes) != 4 || len(d.Connections) != 3 {
		t.Fatalf("stored: %+v", d)
	}
	ev1 := mustNode(t, d, "event1")
	var evCfg workflow.EventConfig
	configOf(t, ev1, &evCfg)
	if ev1.Position != (workflow.Position{X: 99, Y: 77}) || strings.Join(evCfg.Kinds, ",") != "raid" {
		t.Errorf("event1 lost its configuration or kept its old place: %+v %s", ev1.Position, ev1.Config)
	}
	if n := mustNode(t, d, "noop1"); n.Label != "Thanks" {
		t.Errorf("label %q", n.Label)
	}
	var parCfg workflow.ParallelConfig
	if configOf(t, mustNode(t, d, "parallel1"), &parCfg); parCfg.Branches != 2 {
		t.Errorf("a new node gets its type's defaults: %+v", parCfg)
	}
	// The report names event2's empty kinds; the answer says so.
	if ans.OK || len(ans.Report.Errors) != 1 || ans.Report.Errors[0].Node != "event2" || ans.Report.Errors[0].Field != "kinds" {
		t.Errorf("report: %+v", ans.Report)
	}
	if !strings.Contains(ans.Message, "1 problem") {
		t.Errorf("message %q", ans.Message)
	}
	if got := strings.Join(ans.Outputs["parallel1"], ","); got != "branch_1,branch_2,done" {
		t.Errorf("outputs of parallel1: %q", got)
	}

	// A node that changed type loses the old type's configuration.
	retyped := strings.Replace(canvas, `"id":"event1","type":"trigger_event"`, `"id":"event1","type":"trigger_webhook"`, 1)
	decodeAnswer(t, owner.send("PUT", path, "application/json", []byte(retyped), wantJSON))
	var hook workflow.WebhookConfig
	if configOf(t, mustNode(t, e.draft(c.ID, w.ID), "event1"), &hook); hook.Mode != workflow.WebhookAsync || hook.TimeoutSecs != 10 {
		t.Errorf("retyped node's config: %+v", hook)
	}

	bad := []struct {
		name, body, want string
	}{
		{"not JSON", `{"nodes":[`, "workflow definition"},
		{"unknown field", `{"nodes":[],"connections":[],"evil":true}`, "evil"},
		{"config on the canvas", `{"nodes":[{"id":"a","type":"flow_noop","position":{"x":0,"y":0},"colour":1}],"connections":[]}`, "colour"},
		{"too large", `{"nodes":[` + strings.Repeat(" ", workflow.MaxDefinition) + `]}`, "at most"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := e.draft(c.ID, w.ID)
			res := owner.send("PUT", path, "application/json", []byte(tc.body), wantJSON)
			ans := decodeAnswer(t, res)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(ans.Message, tc.want) {
				t.Errorf("%d %q, want 400 and %q", res.StatusCode, ans.Message, tc.want)
			}
			if after := e.draft(c.ID, w.ID); len(after.Nodes) != len(before.Nodes) {
				t.Error("a refused save changed the draft")
			}
		})
	}
}

func TestWorkflowPublishFromBuilder(t *testing.T) {
	t.Parallel()
	const licence = "The free plan publishes one workflow per community."
	e := newEnv(t, withWorkflows(refusingLicence{msg: licence}))
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	owner := e.signedIn(root.Email)
	bad := e.workflow(c.ID, "Broken", `{"nodes":[{"id":"noop1","type":"flow_noop","position":{"x":0,"y":0}}],"connections":[]}`)
	good := e.workflow(c.ID, "Raid thanks", raidDef)
	second := e.workflow(c.ID, "Second", raidDef)
	pub := func(id int64, action string) (response, saveAnswer) {
		res := owner.post(fmt.Sprintf("/c/%d/workflows/%d/%s", c.ID, id, action), nil, wantJSON)
		return res, decodeAnswer(t, res)
	}

	res, ans := pub(bad.ID, "publish")
	if res.StatusCode != http.StatusBadRequest || ans.OK || len(ans.Report.Errors) == 0 || ans.Status != "draft" {
		t.Errorf("invalid publish: %d %+v", res.StatusCode, ans)
	}
	res, ans = pub(good.ID, "publish")
	if res.StatusCode != http.StatusOK || !ans.OK || ans.Version != 1 || ans.Status != "published" || !strings.Contains(ans.Message, "version 1") {
		t.Errorf("publish: %d %+v", res.StatusCode, ans)
	}
	res, ans = pub(second.ID, "publish")
	if res.StatusCode < 400 || ans.OK || ans.Message != licence || ans.Status != "draft" {
		t.Errorf("publish beyond the licence: %d %+v", res.StatusCode, ans)
	}
	if n := e.count("SELECT count(*) FROM workflows WHERE community_id = $1 AND status = 'published'", c.ID); n != 1 {
		t.Errorf("%d published", n)
	}
	res, ans = pub(good.ID, "draft")
	if res.StatusCode != http.StatusOK || ans.Status != "draft" || ans.Version != 1 {
		t.Errorf("back to draft: %d %+v", res.StatusCode, ans)
	}
	// A plain form gets the builder with a flash.
	res = owner.post(fmt.Sprintf("/c/%d/workflows/%d/publish", c.ID, good.ID), nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/c/%d/workflows/%d/edit", c.ID, good.ID) {
		t.Errorf("plain publish: %d %v", res.StatusCode, res.Header)
	}
	if flash := owner.get(res.Header.Get("Location"), nil).doc(t).Find(`[data-testid="flash"]`).Text(); !strings.Contains(flash, "version 2") {
		t.Errorf("flash %q", flash)
	}
}

// TestWorkflowRoutesTenancyAndRoles: another community's owner gets 404 on
// every workflow route of this one (and on its own with this one's ids); a
// member looks but cannot change.
func TestWorkflowRoutesTenancyAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(nil))
	root := e.user("root@example.com", true)
	alice := e.user("alice@example.com", false)
	mia := e.user("mia@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{alice: community.Owner})
	b := e.community(root, "beta", map[auth.User]community.Role{mia: community.Member})
	wB := e.workflow(b.ID, "Beta flow", raidDef)
	e.workflow(a.ID, "Alpha flow", raidDef)

	type route struct {
		method, path string
		form         url.Values
		body         string
	}
	routes := func(cid int64) []route {
		p := func(s string) string { return fmt.Sprintf("/c/%d/workflows%s", cid, s) }
		w := func(s string) string { return p(fmt.Sprintf("/%d%s", wB.ID, s)) }
		return []route{
			{"GET", p(""), nil, ""},
			{"POST", p(""), url.Values{"name": {"evil"}}, ""},
			{"POST", p("/import"), url.Values{"json": {`{"name":"evil","definition":{"nodes":[],"connections":[]}}`}}, ""},
			{"GET", w("/edit"), nil, ""},
			{"GET", w("/export"), nil, ""},
			{"GET", w("/nodes/event1"), nil, ""},
			{"POST", w("/nodes/event1"), url.Values{"node_label": {"evil"}, "kinds": {"follow"}, "platforms": {"twitch"}}, ""},
			{"PUT", w("/definition"), nil, `{"nodes":[],"connections":[]}`},
			{"POST", w("/publish"), nil, ""},
			{"POST", w("/draft"), nil, ""},
			{"POST", w("/delete"), nil, ""},
		}
	}
	call := func(c *client, r route, hdr http.Header) response {
		switch {
		case r.method == "PUT":
			return c.send("PUT", r.path, "application/json", []byte(r.body), hdr)
		case r.method == "GET":
			return c.get(r.path, hdr)
		}
		return c.post(r.path, r.form, hdr)
	}
	hub := e.signedIn(alice.Email)
	for _, r := range routes(b.ID) {
		t.Run("other community "+r.method+" "+r.path, func(t *testing.T) {
			for _, hdr := range []http.Header{nil, {"Hx-Request": {"true"}}, wantJSON} {
				if res := call(hub, r, hdr); res.StatusCode != http.StatusNotFound || strings.Contains(res.body, "Beta flow") {
					t.Errorf("%v: %d, want 404: %.200s", hdr, res.StatusCode, res.body)
				}
			}
		})
	}
	// Alice's own community with B's workflow id.
	for _, r := range routes(a.ID)[3:] {
		t.Run("own community, other id "+r.method+" "+r.path, func(t *testing.T) {
			if res := call(hub, r, wantJSON); res.StatusCode != http.StatusNotFound || strings.Contains(res.body, "Beta flow") {
				t.Errorf("%d, want 404: %.200s", res.StatusCode, res.body)
			}
		})
	}
	member := e.signedIn(mia.Email)
	for _, r := range routes(b.ID) {
		t.Run("member "+r.method+" "+r.path, func(t *testing.T) {
			res := call(member, r, http.Header{"Hx-Request": {"true"}})
			want := http.StatusForbidden
			if r.method == "GET" {
				want = http.StatusOK
			}
			if res.StatusCode != want {
				t.Errorf("%d, want %d", res.StatusCode, want)
			}
		})
	}
	// Nothing in B changed; nothing was created anywhere.
	d := e.draft(b.ID, wB.ID)
	if n := mustNode(t, d, "event1"); n.Label != "" || !strings.Contains(string(n.Config), `"raid"`) || len(d.Nodes) != 3 {
		t.Errorf("B's workflow changed: %+v", d)
	}
	if n := e.count("SELECT count(*) FROM workflows"); n != 2 {
		t.Errorf("%d workflows, want 2", n)
	}
	if n := e.count("SELECT count(*) FROM workflows WHERE status <> 'draft'"); n != 0 {
		t.Error("a workflow was published")
	}
}
