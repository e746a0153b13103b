-- name: TokenUpsert :exec
INSERT INTO platform_tokens (platform, subject, entity_id, access_sealed, refresh_sealed, scopes, account_id, account_login, expires_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
ON CONFLICT (platform, subject) DO UPDATE SET
    entity_id = EXCLUDED.entity_id, access_sealed = EXCLUDED.access_sealed, refresh_sealed = EXCLUDED.refresh_sealed,
    scopes = EXCLUDED.scopes, account_id = EXCLUDED.account_id, account_login = EXCLUDED.account_login,
    expires_at = EXCLUDED.expires_at, updated_at = now(),
    needs_reconnect = '', missing_scopes = '{}', validated_at = NULL;

-- name: TokenGet :one
SELECT * FROM platform_tokens WHERE platform = $1 AND subject = $2;

-- name: TokenGetForUpdate :one
-- The token, its row locked until the transaction ends: one refresher at a
-- time across instances.
SELECT * FROM platform_tokens WHERE platform = $1 AND subject = $2 FOR UPDATE;

-- name: TokenDelete :execrows
DELETE FROM platform_tokens WHERE platform = $1 AND subject = $2;

-- name: EntityGetByServer :one
SELECT * FROM platform_entities WHERE platform = $1 AND server = $2;

-- name: EntityListByPlatform :many
-- Every linked server of a platform, for the bots to join.
SELECT * FROM platform_entities WHERE platform = $1 ORDER BY server;

-- name: LeaseSync :many
-- Renews this holder's leases on the wanted names and takes those that are
-- free or expired; returns the wanted names the holder now holds.
INSERT INTO bot_leases (name, holder, expires_at)
SELECT n, @holder::text, now() + make_interval(secs => @ttl_seconds::float8) FROM unnest(@names::text[]) AS n
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
    WHERE bot_leases.holder = EXCLUDED.holder OR bot_leases.expires_at < now()
RETURNING name;

-- name: LeaseReleaseExcept :exec
-- Releases the holder's leases under a prefix that are not in names.
DELETE FROM bot_leases WHERE holder = @holder::text AND starts_with(name, @prefix::text) AND NOT (name = ANY (@names::text[]));

-- name: LeaseHolders :many
SELECT * FROM bot_leases WHERE starts_with(name, @prefix::text) AND expires_at > now() ORDER BY name;

-- name: AvailableUpsert :exec
INSERT INTO platform_available (platform, server, name, seen_at) VALUES ($1, $2, $3, now())
ON CONFLICT (platform, server) DO UPDATE SET name = EXCLUDED.name, seen_at = now();

-- name: AvailableDelete :exec
DELETE FROM platform_available WHERE platform = $1 AND server = $2;

-- name: AvailableListUnlinked :many
-- Servers a bot is in that no community has linked yet.
SELECT a.* FROM platform_available a
WHERE a.platform = $1 AND NOT EXISTS (SELECT 1 FROM platform_entities e WHERE e.platform = a.platform AND e.server = a.server)
ORDER BY a.name, a.server;

-- name: TokenChecked :execrows
-- Records a successful check of the token whose sealed access token is
-- access_sealed; a token replaced meanwhile is left alone.
UPDATE platform_tokens SET scopes = sqlc.arg(scopes), missing_scopes = sqlc.arg(missing_scopes),
    account_id = sqlc.arg(account_id), account_login = sqlc.arg(account_login), expires_at = sqlc.arg(expires_at), validated_at = now()
WHERE platform = sqlc.arg(platform) AND subject = sqlc.arg(subject) AND access_sealed = sqlc.arg(access_sealed);

-- name: TokenMarkNeedsReconnect :execrows
-- Marks the token whose sealed access token is access_sealed as refused by
-- the platform; a token replaced meanwhile (reconnected) is left alone.
UPDATE platform_tokens SET needs_reconnect = sqlc.arg(reason), validated_at = now()
WHERE platform = sqlc.arg(platform) AND subject = sqlc.arg(subject) AND access_sealed = sqlc.arg(access_sealed);

-- name: TokenCheckList :many
-- The last check of every stored token of a platform, for the health page.
SELECT subject, account_login, needs_reconnect, missing_scopes, validated_at
FROM platform_tokens WHERE platform = $1 ORDER BY subject;

-- name: TokenCheckListByCommunity :many
-- The last check of the tokens of a community's linked servers.
SELECT e.id AS entity_id, t.needs_reconnect, t.missing_scopes, t.validated_at
FROM platform_tokens t JOIN platform_entities e ON e.id = t.entity_id
WHERE e.community_id = $1 ORDER BY e.id;

-- name: RecipientLock :exec
-- Serializes the budget of one sending account for the transaction.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(key)::text, 0));

-- name: RecipientGet :one
SELECT * FROM bot_recipients WHERE platform = $1 AND sender = $2 AND recipient = $3;

-- name: RecipientWindow :one
-- How many recipients the account reached since since, and the first of them.
SELECT count(*)::int AS n, coalesce(min(first_at), now())::timestamptz AS oldest
FROM bot_recipients WHERE platform = $1 AND sender = $2 AND first_at > sqlc.arg(since);

-- name: RecipientUpsert :exec
INSERT INTO bot_recipients (platform, sender, recipient, first_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (platform, sender, recipient) DO UPDATE SET first_at = EXCLUDED.first_at;

-- name: RecipientPrune :exec
DELETE FROM bot_recipients WHERE platform = $1 AND sender = $2 AND first_at <= sqlc.arg(since);
