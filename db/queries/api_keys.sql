-- name: APIKeyInsert :one
INSERT INTO api_keys (user_id, name, prefix, key_hash, role, community_id)
VALUES ($1, $2, $3, $4, $5, sqlc.narg(community_id))
RETURNING *;

-- name: APIKeyListByUser :many
-- The user's keys, live ones first, with their community's name and whether
-- they work now (see APIKeyGetByHash).
SELECT sqlc.embed(k), COALESCE(c.name, '')::text AS community_name,
    (CASE WHEN k.community_id IS NOT NULL THEN u.is_admin OR COALESCE(m.role IN ('owner', 'admin'), false)
          WHEN k.role = 'user' THEN true
          ELSE u.is_admin END)::boolean AS active
FROM api_keys k
JOIN users u ON u.id = k.user_id
LEFT JOIN communities c ON c.id = k.community_id
LEFT JOIN community_members m ON m.community_id = k.community_id AND m.user_id = k.user_id
WHERE k.user_id = $1
ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC;

-- name: APIKeyListByCommunity :many
-- A community's keys, live ones first, with their creators and whether they
-- work now (the creator is still one of its owners or admins, or a global admin).
SELECT sqlc.embed(k), u.email AS user_email,
    (u.is_admin OR COALESCE(m.role IN ('owner', 'admin'), false))::boolean AS active
FROM api_keys k
JOIN users u ON u.id = k.user_id
LEFT JOIN community_members m ON m.community_id = k.community_id AND m.user_id = k.user_id
WHERE k.community_id = $1
ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC;

-- name: APIKeyGetOwnForUpdate :one
-- One of the user's live keys, locked, with its community's name and whether it works now.
SELECT sqlc.embed(k), COALESCE(c.name, '')::text AS community_name,
    (CASE WHEN k.community_id IS NOT NULL THEN u.is_admin OR COALESCE(m.role IN ('owner', 'admin'), false)
          WHEN k.role = 'user' THEN true
          ELSE u.is_admin END)::boolean AS active
FROM api_keys k
JOIN users u ON u.id = k.user_id
LEFT JOIN communities c ON c.id = k.community_id
LEFT JOIN community_members m ON m.community_id = k.community_id AND m.user_id = k.user_id
WHERE k.user_id = $1 AND k.id = $2 AND k.revoked_at IS NULL
FOR UPDATE OF k;

-- name: APIKeyCommunityOfManager :one
-- The community's name when the user may hold its keys: one of its owners or
-- admins, or a global admin. No row otherwise.
SELECT c.name
FROM communities c
JOIN users u ON u.id = sqlc.arg(user_id)
LEFT JOIN community_members m ON m.community_id = c.id AND m.user_id = u.id
WHERE c.id = sqlc.arg(community_id) AND (u.is_admin OR COALESCE(m.role IN ('owner', 'admin'), false));

-- name: APIKeyGetByHash :one
-- A live key that its owner may still hold: a community key while its creator
-- is one of the community's owners or admins (or a global admin), an
-- installation-wide trigger, action, core or admin key while its owner is a
-- global admin, a user key always (it acts with its owner's own memberships).
-- The membership is probed only for community keys: the hot path of other
-- keys costs what it did before.
SELECT k.id, k.user_id, k.role, k.community_id, k.last_used_at, u.email AS user_email, u.is_admin AS user_is_admin
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL
  AND CASE WHEN k.community_id IS NOT NULL THEN u.is_admin OR EXISTS (
               SELECT 1 FROM community_members m
               WHERE m.community_id = k.community_id AND m.user_id = k.user_id AND m.role IN ('owner', 'admin'))
           WHEN k.role = 'user' THEN true
           ELSE u.is_admin END;

-- name: APIKeyRegenerate :one
UPDATE api_keys SET prefix = $3, key_hash = $4, last_used_at = NULL
WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING *;

-- name: APIKeyRevoke :one
UPDATE api_keys SET revoked_at = now()
WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING *;

-- name: APIKeyRevokeInCommunity :one
UPDATE api_keys k SET revoked_at = now()
FROM users u
WHERE u.id = k.user_id AND k.community_id = $1 AND k.id = $2 AND k.revoked_at IS NULL
RETURNING k.*, u.email AS user_email;

-- name: APIKeyTouch :exec
-- Records use, at most once a minute per key to keep the hot path cheap.
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
