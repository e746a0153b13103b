package telemetry

import "testing"

func TestQueryName(t *testing.T) {
	t.Parallel()
	cases := []struct{ sql, want string }{
		{"-- name: CommandGet :one\nSELECT * FROM commands WHERE community_id = $1", "CommandGet"},
		{"-- name: Ping :one\r\nSELECT 1", "Ping"},
		{"-- name: Bare", "Bare"},
		{"SELECT * FROM river_job WHERE id = $1", ""},      // River's own queries
		{"  -- name: Indented :one\nSELECT 1", ""},         // not sqlc's shape
		{"/* -- name: Hidden */ SELECT 'secret text'", ""}, // a name only at the start counts
		{"", ""},
	}
	for _, tc := range cases {
		if got := queryName(tc.sql); got != tc.want {
			t.Errorf("queryName(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
