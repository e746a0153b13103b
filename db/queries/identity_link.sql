-- name: IdentitySeenFlush :exec
-- Records a batch of sightings: each account's latest name (a new account
-- gets an identity of its own) and, for the person it belongs to, the
-- community's first and last sight. Only new accounts and changed names are
-- written, so a flush locks few of the rows that points writes lock. (An
-- identity merged away since the snapshot fails the batch, which is tried
-- again.)
WITH input AS (
    SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(platforms)::text[]) AS platform,
        unnest(sqlc.arg(account_ids)::text[]) AS account_id, unnest(sqlc.arg(user_names)::text[]) AS user_name,
        unnest(sqlc.arg(firsts)::timestamptz[]) AS first_seen, unnest(sqlc.arg(lasts)::timestamptz[]) AS last_seen
), latest AS (
    SELECT DISTINCT ON (i.platform, i.account_id) i.platform, i.account_id, left(i.user_name, 100) AS user_name
    FROM input i ORDER BY i.platform, i.account_id, i.last_seen DESC
), known AS (
    SELECT a.platform, a.account_id, a.identity_id, a.user_name
    FROM identity_accounts a JOIN latest l ON l.platform = a.platform AND l.account_id = a.account_id
), added AS (
    INSERT INTO identity_accounts (platform, account_id, user_name)
    SELECT l.platform, l.account_id, l.user_name FROM latest l
    WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.platform = l.platform AND k.account_id = l.account_id)
    ORDER BY l.platform, l.account_id
    ON CONFLICT (platform, account_id) DO NOTHING
    RETURNING identity_accounts.platform, identity_accounts.account_id, identity_accounts.identity_id
), renamed AS (
    UPDATE identity_accounts a SET user_name = l.user_name
    FROM latest l JOIN known k ON k.platform = l.platform AND k.account_id = l.account_id
    WHERE a.platform = l.platform AND a.account_id = l.account_id AND l.user_name <> '' AND k.user_name <> l.user_name
), accts AS (
    SELECT k.platform, k.account_id, k.identity_id FROM known k
    UNION ALL SELECT d.platform, d.account_id, d.identity_id FROM added d
), people AS (
    SELECT i.community_id, a.identity_id, min(i.first_seen) AS first_seen, max(i.last_seen) AS last_seen
    FROM input i JOIN accts a ON a.platform = i.platform AND a.account_id = i.account_id
    GROUP BY i.community_id, a.identity_id
)
INSERT INTO community_people (community_id, identity_id, first_seen, last_seen)
SELECT p.community_id, p.identity_id, p.first_seen, p.last_seen FROM people p
WHERE EXISTS (SELECT 1 FROM communities c WHERE c.id = p.community_id)
ORDER BY p.community_id, p.identity_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET first_seen = least(community_people.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(community_people.last_seen, EXCLUDED.last_seen);

-- name: IdentityAccountSeenByName :many
-- The accounts of a platform called name (ignoring case) that the community
-- has seen, most recently seen first.
SELECT a.platform, a.account_id, a.identity_id, a.user_name, p.last_seen
FROM identity_accounts a
JOIN community_people p ON p.community_id = sqlc.arg(community_id) AND p.identity_id = a.identity_id
WHERE a.platform = sqlc.arg(platform) AND lower(a.user_name) = lower(sqlc.arg(user_name)::text)
ORDER BY p.last_seen DESC
LIMIT 2;

-- name: IdentityLinkCodeInsert :one
-- A new code for a target replaces the target's earlier unused ones.
WITH dead AS (
    UPDATE identity_link_codes SET used_at = now()
    WHERE identity_link_codes.community_id = sqlc.arg(community_id) AND identity_link_codes.to_platform = sqlc.arg(to_platform)
      AND identity_link_codes.to_account = sqlc.arg(to_account) AND used_at IS NULL
)
INSERT INTO identity_link_codes (community_id, from_platform, from_account, to_platform, to_account, code_hash, expires_at)
VALUES (sqlc.arg(community_id), sqlc.arg(from_platform), sqlc.arg(from_account), sqlc.arg(to_platform), sqlc.arg(to_account),
    sqlc.arg(code_hash), sqlc.arg(expires_at))
RETURNING id;

-- name: IdentityLinkCodePending :one
-- The target's live code in a community, locked: the one a !verify checks.
SELECT * FROM identity_link_codes
WHERE community_id = $1 AND to_platform = $2 AND to_account = $3 AND used_at IS NULL
ORDER BY id DESC
LIMIT 1
FOR UPDATE;

-- name: IdentityLinkCodeAttempt :one
-- Counts a wrong code; the fifth kills it.
UPDATE identity_link_codes
SET attempts = attempts + 1, used_at = CASE WHEN attempts + 1 >= 5 THEN now() ELSE used_at END
WHERE id = $1
RETURNING attempts;

-- name: IdentityLinkCodeUse :exec
UPDATE identity_link_codes SET used_at = now() WHERE id = $1;

-- name: IdentityLinkCodeDelete :exec
DELETE FROM identity_link_codes WHERE id = $1;

-- name: IdentityEntityOf :one
-- The server a community linked on a platform (its first, by id).
SELECT server FROM platform_entities WHERE community_id = $1 AND platform = $2 ORDER BY id LIMIT 1;
