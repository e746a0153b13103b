-- name: ViewerTrackingGet :one
SELECT * FROM viewer_tracking WHERE community_id = $1;

-- name: ViewerTrackingForUpdate :one
SELECT * FROM viewer_tracking WHERE community_id = $1 FOR UPDATE;

-- name: ViewerTrackingSet :exec
INSERT INTO viewer_tracking (community_id, enabled, interval_minutes, points, updated_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (community_id) DO UPDATE
SET enabled = EXCLUDED.enabled, interval_minutes = EXCLUDED.interval_minutes, points = EXCLUDED.points, updated_at = now();

-- name: ViewerTrackingByServers :many
-- The servers among the given ones whose community tracks viewers.
SELECT e.community_id, e.server, v.interval_minutes, v.points
FROM platform_entities e JOIN viewer_tracking v ON v.community_id = e.community_id
WHERE e.platform = @platform::text AND e.server = ANY (@servers::text[]) AND v.enabled
ORDER BY e.server;

-- name: LeaseHeldForShare :one
-- The lease's expiry while holder holds it, locked so that no other
-- instance takes it over before the transaction ends; no row otherwise.
SELECT expires_at FROM bot_leases
WHERE name = @name::text AND holder = @holder::text AND expires_at > now()
FOR SHARE;

-- name: WatchTickClaim :one
-- Records a server's period as awarded and returns the points each viewer
-- earns; no row when the period, or one overlapping it, was awarded already,
-- or the server's community no longer tracks viewers at this interval.
INSERT INTO watch_ticks (platform, server, starts_at, ends_at, community_id, viewers, points)
SELECT e.platform, e.server, @starts_at::timestamptz, @ends_at::timestamptz, e.community_id, @viewers::integer, v.points
FROM platform_entities e JOIN viewer_tracking v ON v.community_id = e.community_id
WHERE e.platform = @platform::text AND e.server = @server::text AND e.community_id = @community_id::bigint
    AND v.enabled AND v.interval_minutes = @interval_minutes::integer
    AND NOT EXISTS (SELECT 1 FROM watch_ticks t
        WHERE t.platform = @platform::text AND t.server = @server::text
            AND t.starts_at < @ends_at::timestamptz AND t.ends_at > @starts_at::timestamptz)
ON CONFLICT (platform, server, starts_at) DO NOTHING
RETURNING points;

-- name: WatchTicksPrune :exec
-- Forgets a server's periods that ended before a time; only recent ones are
-- needed to refuse an overlap.
DELETE FROM watch_ticks
WHERE community_id = @community_id::bigint AND platform = @platform::text AND server = @server::text AND ends_at < @before::timestamptz;

-- name: WatchAccountsLock :exec
-- Locks the account rows of a tick's viewers, in key order, creating those
-- that are new and renaming those whose name changed. An unchanged row is
-- locked but not rewritten (ON CONFLICT locks every row it meets, and
-- updates only those its WHERE accepts), so a tick of 10,000 viewers writes
-- no new row versions for the regulars. Run it first: while the tick's
-- transaction holds these locks, no link or merge can move an account to
-- another identity, and the statements after it read each account's
-- identity as it now stands.
INSERT INTO identity_accounts (platform, account_id, user_name)
SELECT @platform::text, u.user_id, left(u.user_name, 100)
FROM (SELECT unnest(@user_ids::text[]) AS user_id, unnest(@user_names::text[]) AS user_name) u
ORDER BY u.user_id
ON CONFLICT (platform, account_id) DO UPDATE
SET user_name = EXCLUDED.user_name
WHERE EXCLUDED.user_name <> '' AND identity_accounts.user_name <> EXCLUDED.user_name;

-- name: WatchTimeAddMany :exec
-- Adds seconds to the watch time of each viewer's identity, in key order so
-- that two calls cannot deadlock. The viewers' accounts must be locked by
-- WatchAccountsLock in the same transaction.
INSERT INTO watch_time (community_id, identity_id, platform, user_id, user_name, seconds)
SELECT @community_id::bigint, a.identity_id, a.platform, a.account_id, a.user_name, @seconds::bigint
FROM identity_accounts a
WHERE a.platform = @platform::text AND a.account_id = ANY (@user_ids::text[])
ORDER BY a.identity_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET seconds = watch_time.seconds + EXCLUDED.seconds,
    platform = EXCLUDED.platform, user_id = EXCLUDED.user_id,
    user_name = CASE WHEN EXCLUDED.user_name = '' THEN watch_time.user_name ELSE EXCLUDED.user_name END,
    updated_at = now();

-- name: WatchPointsAddMany :execrows
-- Gives each viewer's identity the same points with a ledger row each, in
-- key order; a viewer whose balance would leave ±(2^53 − 1) gets none (no
-- ledger row either). The viewers' accounts must be locked by
-- WatchAccountsLock in the same transaction; on one platform each identity
-- has one account, so each identity is awarded once.
WITH bal AS (
    INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
    SELECT @community_id::bigint, a.identity_id, a.platform, a.account_id, a.user_name, @delta::bigint
    FROM identity_accounts a
    WHERE a.platform = @platform::text AND a.account_id = ANY (@user_ids::text[])
    ORDER BY a.identity_id
    ON CONFLICT (community_id, identity_id) DO UPDATE
    SET balance = points_balances.balance + EXCLUDED.balance,
        platform = EXCLUDED.platform, user_id = EXCLUDED.user_id,
        user_name = CASE WHEN EXCLUDED.user_name = '' THEN points_balances.user_name ELSE EXCLUDED.user_name END,
        updated_at = now()
    WHERE abs(points_balances.balance::numeric + EXCLUDED.balance::numeric) <= 9007199254740991
    RETURNING points_balances.identity_id, points_balances.platform, points_balances.user_id, points_balances.user_name
)
INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
SELECT @community_id::bigint, b.identity_id, b.platform, b.user_id, b.user_name, @delta::bigint, @reason::text
FROM bal b;

-- name: WatchTimeLeaderboard :many
-- A community's viewers by time watched, with their points.
SELECT w.platform, w.user_id, coalesce(nullif(b.user_name, ''), w.user_name)::text AS user_name, w.seconds,
    coalesce(b.balance, 0)::bigint AS balance
FROM watch_time w
LEFT JOIN points_balances b ON b.community_id = w.community_id AND b.identity_id = w.identity_id
WHERE w.community_id = $1
ORDER BY w.seconds DESC, w.user_name
LIMIT $2;
