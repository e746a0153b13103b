package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

type testRunEvent struct {
	name string
	data map[string]any
}

// testRunStream posts a test run asking for the event stream and reads
// every event until the stream ends.
func testRunStream(t *testing.T, c *client, path, payload string) (*http.Response, []testRunEvent, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(url.Values{"payload": {payload}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		var b strings.Builder
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return res, nil, b.String()
	}
	var events []testRunEvent
	var ev testRunEvent
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
				t.Fatalf("event %s: data is not JSON: %v", ev.name, err)
			}
		case line == "":
			events = append(events, ev)
			ev = testRunEvent{}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return res, events, ""
}

func TestTestRunStreamsNodes(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	path := x.path("/workflows/%d/test", x.pipe.ID)

	// A payload that is not an array fails at "each".
	res, events, _ := testRunStream(t, x.admin, path, `{"x": 1, "who": "ada"}`)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %v %v", e.name, e.data["node"], e.data["status"]))
	}
	want := []string{"node hook succeeded", "node a succeeded", "node each failed", "done <nil> failed"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	hook := events[0].data
	if hook["label"] != "Shop hook" || hook["type"] != "trigger_webhook" || hook["seq"] != 1.0 || hook["duration"] == "" {
		t.Errorf("hook event %v", hook)
	}
	if out, _ := hook["output"].(map[string]any); out["who"] != "ada" {
		t.Errorf("hook output %v", hook["output"])
	}
	if e := events[2].data["error"].(string); !strings.Contains(e, "not an array") {
		t.Errorf("each's error %q", e)
	}
	done := events[3].data
	id := int64(done["run_id"].(float64))
	if done["failed_node"] != "each" || done["url"] != x.path("/runs/%d", id) || !strings.Contains(done["error"].(string), "not an array") {
		t.Errorf("done %v", done)
	}
	// The run is stored as a test of the draft, started by the admin.
	var version int32
	var st, kind string
	if err := x.pool.QueryRow(context.Background(), "SELECT version, status, trigger_kind FROM workflow_runs WHERE id = $1 AND community_id = $2",
		id, x.c.ID).Scan(&version, &st, &kind); err != nil {
		t.Fatal(err)
	}
	if version != 0 || st != "failed" || kind != "manual" {
		t.Errorf("stored run: v%d %s %s", version, st, kind)
	}

	// An array goes round the loop: body twice, then done succeeded.
	_, events, _ = testRunStream(t, x.admin, path, `[1, 2]`)
	if len(events) == 0 || events[len(events)-1].name != "done" || events[len(events)-1].data["status"] != "succeeded" {
		t.Fatalf("events %v", events)
	}
	bodies := 0
	for _, e := range events {
		if e.name == "node" && e.data["node"] == "body" {
			bodies++
			if e.data["status"] != "succeeded" {
				t.Errorf("body %v", e.data)
			}
		}
	}
	if events[0].data["node"] != "hook" || bodies != 2 {
		t.Errorf("first %v, body ran %d times, want hook first and 2", events[0].data["node"], bodies)
	}

	// A large output is sent as a preview.
	big := `{"text": "` + strings.Repeat("quack ", 2000) + `"}`
	_, events, _ = testRunStream(t, x.admin, path, big)
	if len(events) == 0 || events[0].data["truncated"] != true || len(events[0].data["output"].(string)) > 2100 {
		t.Errorf("a large output: truncated %v", events[0].data["truncated"])
	}
}

func TestTestRunRefusals(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	path := x.path("/workflows/%d/test", x.pipe.ID)
	cases := []struct {
		name, payload string
		c             *client
		path          string
		wantStatus    int
		wantField     string
		wantError     string
	}{
		{"not JSON", `{"x": `, x.admin, path, 400, "payload", "not valid JSON"},
		{"bad token", `{x: 1}`, x.admin, path, 400, "payload", "not valid JSON"},
		{"empty", `  `, x.admin, path, 400, "payload", "Write a JSON payload"},
		{"two values", `{} {}`, x.admin, path, 400, "payload", "more than one JSON value"},
		{"too large", `"` + strings.Repeat("a", 64<<10) + `"`, x.admin, path, 400, "payload", "at most 64 KiB"},
		{"member", `{}`, x.member, path, 403, "", "You may not run this workflow"},
		{"another community's workflow", `{}`, x.admin, x.path("/workflows/%d/test", x.foreignFlow), 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, events, body := testRunStream(t, c.c, c.path, c.payload)
			if res.StatusCode != c.wantStatus || events != nil {
				t.Fatalf("status %d, %d events; want %d and none", res.StatusCode, len(events), c.wantStatus)
			}
			var e struct{ Error, Field string }
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("answer %q is not JSON: %v", body, err)
			}
			if e.Field != c.wantField || !strings.Contains(e.Error, c.wantError) {
				t.Errorf("answer %+v, want field %q and %q", e, c.wantField, c.wantError)
			}
		})
	}
	// A draft that is not valid says why, before any node runs.
	d, _ := workflow.ParseDefinition([]byte(`{"nodes": [{"id": "n", "type": "flow_noop"}], "connections": []}`))
	w, _, err := x.flows.Create(context.Background(), x.c.ID, audit.Actor{Name: "test"}, workflow.Input{Name: "no trigger", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	res, _, body := testRunStream(t, x.admin, x.path("/workflows/%d/test", w.ID), `{}`)
	if res.StatusCode != 400 || !strings.Contains(strings.ToLower(body), "trigger") {
		t.Errorf("an invalid draft: %d %s", res.StatusCode, body)
	}
	if n := x.count("SELECT count(*) FROM workflow_runs WHERE workflow_id = $1", w.ID); n != 0 {
		t.Errorf("an invalid draft left %d runs", n)
	}
}

// Without script, the form posts and the run's page follows; a bad payload
// shows the page again with the message next to the field.
func TestTestRunPlainForm(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	path := x.path("/workflows/%d/test", x.pipe.ID)
	res := x.admin.post(path, url.Values{"payload": {`{"x": `}}, nil)
	if res.StatusCode != 400 {
		t.Fatalf("bad payload: %d", res.StatusCode)
	}
	doc := res.doc(t)
	if got := doc.Find(`[data-testid=test-run] [data-testid=form-error][data-field=payload]`).Text(); !strings.Contains(got, "not valid JSON") {
		t.Errorf("field error %q", got)
	}
	if got := doc.Find(`[data-testid=test-payload]`).Text(); got != `{"x": ` {
		t.Errorf("the payload typed is not kept: %q", got)
	}
	res = x.admin.post(path, url.Values{"payload": {`[1]`}}, nil)
	if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), x.path("/runs/")) {
		t.Fatalf("test run: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := x.admin.get(res.Header.Get("Location"), nil)
	doc = page.doc(t)
	if got := doc.Find(`[data-testid=run-status]`).Text(); got != "Succeeded" {
		t.Errorf("the test run's page says %q", got)
	}
	if got := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(got, "Test run #") {
		t.Errorf("flash %q", got)
	}
	// The panel is offered to those who may run the workflow only.
	if x.member.get(x.path("/workflows/%d/runs", x.pipe.ID), nil).doc(t).Find(`[data-testid=test-run]`).Length() != 0 {
		t.Error("a member is offered a test run")
	}
	if x.admin.get(x.path("/workflows/%d/runs", x.pipe.ID), nil).doc(t).Find(`[data-testid=test-run-form]`).AttrOr("data-test-run", "") != path {
		t.Error("an admin is not offered the test run")
	}
}
