-- Named counters: {counter:NAME} and {getcounter:NAME} in replies, !counter
-- NAME in chat, the counters section of the hub and the API.

-- name: CounterIncrement :one
-- Adds one to a named counter, creating it at 1; the value stops at 2^53 − 1.
INSERT INTO counters AS c (community_id, name, value) VALUES ($1, $2, 1)
ON CONFLICT (community_id, name) DO UPDATE SET value = LEAST(c.value + 1, 9007199254740991), updated_at = now()
RETURNING c.value;

-- name: CounterValue :one
SELECT value FROM counters WHERE community_id = $1 AND name = $2;

-- name: CounterGetForUpdate :one
SELECT * FROM counters WHERE community_id = $1 AND name = $2 FOR UPDATE;

-- name: CounterListByCommunity :many
SELECT * FROM counters WHERE community_id = $1 ORDER BY name LIMIT $2;

-- name: CounterCountByCommunity :one
SELECT count(*) FROM counters WHERE community_id = $1;

-- name: CounterSet :one
-- Sets a named counter, creating it if need be.
INSERT INTO counters AS c (community_id, name, value) VALUES ($1, $2, $3)
ON CONFLICT (community_id, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
RETURNING *;

-- name: CounterDelete :one
DELETE FROM counters WHERE community_id = $1 AND name = $2 RETURNING *;
