package marketplace_test

import (
	"context"
	"testing"
)

// BenchmarkUsage reads 30 days of a module's usage out of an execution log
// of ~200,000 rows (100,000 of the module's three versions over 40 days in
// 50 communities, the rest of other modules and of plain commands).
func BenchmarkUsage(b *testing.B) {
	ctx := context.Background()
	f := newSocialFixture(b)
	mid, _ := f.module("busy", f.user(false), "1.0.0", "1.1.0", "2.0.0")
	other, _ := f.module("other", f.user(false), "1.0.0", "1.1.0")
	for range 50 {
		f.community()
	}
	// One statement: seeding through the service layer would take minutes.
	f.exec(`INSERT INTO command_executions (community_id, command, platform, user_id, executor, outcome, duration_us, created_at, module_version_id, refused)
		SELECT c.ids[1 + g % 50], 'cmd', 'twitch', 'viewer' || g, 'remote',
			(ARRAY['ok','ok','ok','ok','ok','ok','error','refused','denied','rate_limited'])[1 + g % 10],
			(g * 7919) % 250000, now() - make_interval(secs => (g * 17.3) % (40 * 86400)),
			CASE WHEN g % 4 < 2 THEN v.mine[1 + g % 3] WHEN g % 4 = 2 THEN v.theirs[1 + g % 2] END,
			CASE WHEN g % 25 = 0 THEN ARRAY['points:write'] ELSE '{}' END
		FROM generate_series(1, 200000) g,
			(SELECT array_agg(id ORDER BY id) AS ids FROM communities) c,
			(SELECT array_agg(id ORDER BY id) FILTER (WHERE module_id = $1) AS mine,
				array_agg(id ORDER BY id) FILTER (WHERE module_id = $2) AS theirs FROM marketplace_versions) v`, mid, other)
	f.exec("ANALYZE command_executions")
	b.ResetTimer()
	for b.Loop() {
		u, err := f.svc.Usage(ctx, mid, "")
		if err != nil {
			b.Fatal(err)
		}
		if u.Total.Runs == 0 {
			b.Fatal("no runs counted")
		}
	}
}
