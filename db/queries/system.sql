-- name: MigrationLock :exec
-- Held on one connection while migrations run, so several instances starting together migrate once.
SELECT pg_advisory_lock(sqlc.arg(key)::bigint);

-- name: MigrationUnlock :exec
SELECT pg_advisory_unlock(sqlc.arg(key)::bigint);

-- name: Ping :one
SELECT 1::int;

-- name: ServerKeyEnsure :one
-- The installation's key called name; key is stored as it when there is none yet.
INSERT INTO server_keys (name, key) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING key;
