-- name: IdentityCreateForUser :exec
-- The hub user's identity, unless they have one. DO NOTHING takes no lock
-- on an existing identity, so linking never waits on it here (the merge
-- locks it later, in the order every merge does).
INSERT INTO identities (user_id, display_name, primary_platform)
VALUES (sqlc.arg(user_id)::bigint, left(sqlc.arg(display_name)::text, 100), sqlc.arg(primary_platform)::text)
ON CONFLICT (user_id) DO NOTHING;

-- name: IdentityAccountsOfUser :many
-- The platform accounts of a hub user's identity.
SELECT a.* FROM identity_accounts a
JOIN identities i ON i.id = a.identity_id
WHERE i.user_id = $1
ORDER BY a.platform;
