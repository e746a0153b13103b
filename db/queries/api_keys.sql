-- name: APIKeyInsert :one
INSERT INTO api_keys (user_id, name, prefix, key_hash, role)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: APIKeyListByUser :many
SELECT * FROM api_keys WHERE user_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC;

-- name: APIKeyGetByUser :one
SELECT * FROM api_keys WHERE user_id = $1 AND id = $2;

-- name: APIKeyGetByHash :one
-- A live key with its owner.
SELECT k.*, u.email AS user_email, u.is_admin AS user_is_admin
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL;

-- name: APIKeyRegenerate :one
UPDATE api_keys SET prefix = $3, key_hash = $4, last_used_at = NULL
WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING *;

-- name: APIKeyRevoke :one
UPDATE api_keys SET revoked_at = now()
WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING *;

-- name: APIKeyTouch :exec
-- Records use, at most once a minute per key to keep the hot path cheap.
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
