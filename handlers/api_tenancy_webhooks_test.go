package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// webhookFixture is what the matrix's webhook routes work on: a webhook of
// A's workflow to delete (made again before each DELETE case), and another
// whose URL takes the deliveries.
type webhookFixture struct {
	del           int64
	token, secret string
}

func (x *tenancyEnv) webhookFixtures(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	h, _, _, err := x.env.hooks.Create(ctx, x.a.ID, x.wf.wfA, audit.Actor{Name: "test"}, workflow.WebhookInput{})
	if err != nil {
		t.Fatal(err)
	}
	x.hooks.del = h.ID
	if _, x.hooks.token, x.hooks.secret, err = x.env.hooks.Create(ctx, x.a.ID, x.wf.wfA, audit.Actor{Name: "test"},
		workflow.WebhookInput{RatePerMinute: workflow.WebhookRateMax}); err != nil {
		t.Fatal(err)
	}
}

func webhookTenancyRoutes() []tenancyRoute {
	refused := [4]int{403, 403, 401, 403}
	ok := func(st int) map[string][4]int {
		return map[string][4]int{"user": {st, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {st, st, 401, st}}
	}
	hooksP := func(x *tenancyEnv) string {
		return fmt.Sprintf("/workflows/%d/webhooks?community_id=%d", x.wf.wfA, x.a.ID)
	}
	hooksU := func(x *tenancyEnv) string {
		return fmt.Sprintf("/workflows/%d/webhooks?community_id=%d", x.unknown, x.a.ID)
	}
	every := [4]int{202, 202, 202, 202}
	return []tenancyRoute{
		{method: "POST", pattern: "/api/v1/workflows/{id}/webhooks", path: hooksP, unknownPath: hooksU,
			body: func(*tenancyEnv, int) string { return `{"allow":["192.0.2.0/24"]}` }, want: ok(201)},
		{method: "GET", pattern: "/api/v1/workflows/{id}/webhooks", path: hooksP, unknownPath: hooksU,
			body: func(*tenancyEnv, int) string { return "" }, want: ok(200)},
		{method: "DELETE", pattern: "/api/v1/workflows/{id}/webhooks/{webhookId}",
			path: func(x *tenancyEnv) string {
				return fmt.Sprintf("/workflows/%d/webhooks/%d?community_id=%d", x.wf.wfA, x.hooks.del, x.a.ID)
			},
			unknownPath: func(x *tenancyEnv) string {
				return fmt.Sprintf("/workflows/%d/webhooks/%d?community_id=%d", x.unknown, x.hooks.del, x.a.ID)
			},
			body: func(*tenancyEnv, int) string { return "" },
			prep: func(t *testing.T, x *tenancyEnv) {
				if x.count("SELECT count(*) FROM workflow_webhooks WHERE id = $1", x.hooks.del) == 1 {
					return
				}
				h, _, _, err := x.env.hooks.Create(context.Background(), x.a.ID, x.wf.wfA, audit.Actor{Name: "test"}, workflow.WebhookInput{})
				if err != nil {
					t.Fatal(err)
				}
				x.hooks.del = h.ID
			},
			want: ok(200)},
		// The webhook URL takes no key: whatever key comes along, a signed
		// delivery is accepted (and starts a run of A's workflow).
		{method: "POST", pattern: "/api/v1/workflows/webhooks/{token}",
			path:        func(x *tenancyEnv) string { return "/workflows/webhooks/" + x.hooks.token },
			unknownPath: func(x *tenancyEnv) string { return "/workflows/webhooks/" + strings.Repeat("0", 32) },
			body:        func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"n":%d}`, n) },
			headers: func(x *tenancyEnv, body string) http.Header {
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				return http.Header{workflow.HeaderTimestamp: {ts}, workflow.HeaderSignature: {workflow.Sign(x.hooks.secret, ts, []byte(body))}}
			},
			want: map[string][4]int{"user": every, "trigger": every, "action": every, "core": every, "admin": every}},
	}
}
