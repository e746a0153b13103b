-- name: OverlaySourceCreate :one
INSERT INTO overlay_sources (community_id, kind, name, token_hash, settings)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: OverlaySourceList :many
SELECT * FROM overlay_sources WHERE community_id = $1 ORDER BY kind, name, id;

-- name: OverlaySourceGet :one
SELECT * FROM overlay_sources WHERE community_id = $1 AND id = $2;

-- name: OverlaySourceGetForUpdate :one
-- A source before a change, locked until the change commits.
SELECT * FROM overlay_sources WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: OverlaySourceRemove :one
DELETE FROM overlay_sources WHERE community_id = $1 AND id = $2 RETURNING *;

-- name: OverlaySourceByToken :one
SELECT * FROM overlay_sources WHERE token_hash = $1;

-- name: OverlaySourceListByKind :many
SELECT * FROM overlay_sources WHERE community_id = $1 AND kind = $2;

-- name: OverlaySourceSetToken :execrows
UPDATE overlay_sources SET token_hash = $3, updated_at = now() WHERE community_id = $1 AND id = $2;

-- name: OverlaySourceUpdateSettings :execrows
UPDATE overlay_sources SET name = $3, settings = $4, updated_at = now() WHERE community_id = $1 AND id = $2;

-- name: OverlaySourceDelete :execrows
DELETE FROM overlay_sources WHERE community_id = $1 AND id = $2;

-- name: OverlayUpdateInsert :one
-- Stores an update with the source's next number. The UPDATE holds the
-- source row's lock until the statement commits, so numbers commit in order
-- and without holes. No row: the source is gone.
WITH src AS (
    UPDATE overlay_sources SET seq = seq + 1 WHERE overlay_sources.id = sqlc.arg(source_id) RETURNING overlay_sources.id, overlay_sources.seq
)
INSERT INTO overlay_updates (source_id, seq, payload)
SELECT src.id, src.seq, sqlc.arg(payload)::jsonb FROM src
RETURNING seq, created_at;

-- name: OverlaySourceSeq :one
-- The number of the source's newest update (0: none yet).
SELECT seq FROM overlay_sources WHERE id = $1;

-- name: OverlayUpdatesSince :many
-- What a page missed after the update numbered seq, oldest first, at most
-- the last hour.
SELECT seq, payload FROM overlay_updates
WHERE source_id = $1 AND seq > $2 AND created_at > now() - interval '1 hour'
ORDER BY seq
LIMIT 200;

-- name: OverlayUpdatesDeleteOld :execrows
DELETE FROM overlay_updates WHERE created_at < now() - interval '1 hour';

-- name: OverlaySourceCommunity :one
-- The community a source belongs to; callers then check membership of it.
SELECT community_id FROM overlay_sources WHERE id = $1;
