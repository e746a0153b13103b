-- name: MigrationLock :exec
-- Held on one connection while migrations run, so several instances starting together migrate once.
SELECT pg_advisory_lock(sqlc.arg(key)::bigint);

-- name: MigrationUnlock :exec
SELECT pg_advisory_unlock(sqlc.arg(key)::bigint);

-- name: Ping :one
SELECT 1::int;
