package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

// upSQL returns the Up part of the migration file name.
func upSQL(t *testing.T, name string) string {
	t.Helper()
	b, err := db.MigrationFiles.ReadFile("migrations/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	up := strings.Index(s, "-- +goose Up")
	down := strings.Index(s, "-- +goose Down")
	if up < 0 || down < up {
		t.Fatalf("%s: no Up section before its Down section", name)
	}
	return s[up:down]
}

// Deliveries stored by earlier versions lose the Slack verification token,
// and processed Slack ones their response URL and trigger id; a delivery
// still waiting for its job keeps what its answer needs, and Twitch's are
// left alone.
func TestMigrationScrubsStoredDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	const slackBody = `{"token":"verif","team_id":"T1","response_url":"https://hooks.slack.com/commands/x","trigger_id":"TR","text":"hi"}`
	rows := []struct {
		platform, id string
		processed    bool
		body, want   string
	}{
		{"slack", "cmd:TR1", true, slackBody, `{"team_id":"T1","text":"hi"}`},
		{"slack", "cmd:TR2", false, slackBody, `{"team_id":"T1","response_url":"https://hooks.slack.com/commands/x","trigger_id":"TR","text":"hi"}`},
		{"slack", "int:TR3", true, `{"type":"view_submission","response_urls":[{"response_url":"https://hooks.slack.com/app/y"}],"view":{"id":"V"}}`, `{"type":"view_submission","view":{"id":"V"}}`},
		{"slack", "Ev1", true, `{"token":"verif","event":{"type":"message"}}`, `{"event":{"type":"message"}}`},
		{"twitch", "m1", true, `{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}`, `{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}`},
	}
	for _, r := range rows {
		if _, err := pool.Exec(ctx, `INSERT INTO platform_deliveries (platform, message_id, kind, payload, processed_at)
			VALUES ($1, $2, 'k', $3::jsonb, CASE WHEN $4 THEN now() END)`, r.platform, r.id, r.body, r.processed); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, upSQL(t, "00013_delivery_scrub.sql")); err != nil {
		t.Fatalf("migration: %v", err)
	}
	for _, r := range rows {
		var same bool
		var got string
		if err := pool.QueryRow(ctx, `SELECT payload = $2::jsonb, payload::text FROM platform_deliveries WHERE message_id = $1`, r.id, r.want).Scan(&same, &got); err != nil {
			t.Fatal(err)
		}
		if !same {
			t.Errorf("%s %s: payload %s, want %s", r.platform, r.id, got, r.want)
		}
	}
}
