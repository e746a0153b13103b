package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// BenchmarkOverviewPage renders a community's overview with 100,000
// execution-log rows and 20,000 points awards spread over the last week
// (and as many in another community), none of them from the simulator, so
// the checklist's look for a simulator run reads the whole log.
func BenchmarkOverviewPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	root := e.user("bench@example.com", true)
	c := e.community(root, "busy", nil)
	other := e.community(root, "other", nil)
	if _, err := e.settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hi", Response: "hi", Permission: router.Everyone, Enabled: true}); err != nil {
		b.Fatal(err)
	}
	for _, cid := range []int64{c.ID, other.ID} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO command_executions (community_id, command, platform, user_id, user_name, executor, outcome, duration_us, created_at)
			SELECT $1, 'cmd' || (i % 40), 'twitch', 'u' || (i % 5000), 'user', 'text', 'ok', 100, now() - (i % 10080) * interval '1 minute'
			FROM generate_series(1, 100000) AS i`, cid); err != nil {
			b.Fatal(err)
		}
		if _, err := e.pool.Exec(ctx, `INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason, created_at)
			SELECT $1, i % 5000, 'twitch', 'u' || (i % 5000), 'user', 10, (ARRAY['follow', 'subscribe', 'chat_message', 'raid'])[1 + i % 4], now() - (i % 10080) * interval '1 minute'
			FROM generate_series(1, 20000) AS i`, cid); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(ctx, `ANALYZE command_executions; ANALYZE points_ledger`); err != nil {
		b.Fatal(err)
	}
	hub := e.signedIn(root.Email)
	path := fmt.Sprintf("/c/%d", c.ID)
	b.ResetTimer()
	for b.Loop() {
		if res := hub.get(path, nil); res.StatusCode != http.StatusOK {
			b.Fatalf("overview: %d", res.StatusCode)
		}
	}
}
