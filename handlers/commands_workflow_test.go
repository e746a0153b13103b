package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// TestWorkflowCommandsAreManaged: a published workflow's command shows on
// the commands page as managed by its workflow, with no edit, toggle or
// delete; asking for them anyway is refused and changes nothing.
func TestWorkflowCommandsAreManaged(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	workflow.NewTriggers(workflow.TriggersConfig{Service: b.flows, Commands: b.settings})
	d, err := workflow.ParseDefinition([]byte(`{"nodes": [
 {"id": "cmd", "type": "trigger_command", "config": {"command": "shout", "platforms": ["twitch"], "permission": "vip", "user_cooldown_seconds": 5, "global_cooldown_seconds": 0}},
 {"id": "next", "type": "flow_noop"}
], "connections": [{"from": "cmd", "from_port": "out", "to": "next", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := b.flows.Create(ctx, b.c.ID, audit.Actor{}, workflow.Input{Name: "Shout out", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.flows.Publish(ctx, b.c.ID, w.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	b.mustCommand(t, "hello", "hi")
	cmd := b.command(t, "shout")

	doc := b.admin.get(b.path("/commands"), nil).doc(t)
	var managed, editable []string
	doc.Find(`[data-testid=command-row]`).Each(func(_ int, row *goquery.Selection) {
		name := row.Find(`[data-testid=command-row-name]`).Text()
		if m := row.Find(`[data-testid=command-managed]`); m.Length() == 1 {
			managed = append(managed, name+": "+m.Text())
		}
		if row.Find(`[data-testid=command-edit]`).Length() == 1 && row.Find(`[data-testid=command-delete]`).Length() > 0 {
			editable = append(editable, name)
		}
	})
	if strings.Join(managed, ",") != "!shout: managed by workflow Shout out" || strings.Join(editable, ",") != "!hello" {
		t.Errorf("managed rows %q, editable rows %q; want !shout managed by its workflow, only !hello editable", managed, editable)
	}

	for _, req := range []struct {
		name string
		do   func() response
	}{
		{"edit form", func() response { return b.admin.get(b.path("/commands/%d/edit", cmd.ID), nil) }},
		{"update", func() response {
			return b.admin.post(b.path("/commands/%d", cmd.ID), url.Values{"response": {"x"}, "permission": {"everyone"},
				"platforms": {"twitch"}, "enabled": {"on"}, "user_cooldown": {"0"}, "global_cooldown": {"0"}}, nil)
		}},
		{"toggle", func() response { return b.admin.post(b.path("/commands/%d/toggle", cmd.ID), nil, nil) }},
		{"delete", func() response { return b.admin.post(b.path("/commands/%d/delete", cmd.ID), nil, nil) }},
	} {
		t.Run(req.name, func(t *testing.T) {
			res := req.do()
			if res.StatusCode != http.StatusConflict || !strings.Contains(res.body, "managed by the workflow") {
				t.Errorf("status %d, want 409 saying it is managed by the workflow: %.300s", res.StatusCode, res.body)
			}
		})
	}
	if got := b.command(t, "shout"); got.Permission != "vip" || !got.Enabled || got.WorkflowID != w.ID {
		t.Errorf("the command after refused changes: %+v", got)
	}
}
