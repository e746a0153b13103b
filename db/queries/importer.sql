-- name: ImportCreate :one
INSERT INTO imports (community_id, source, created_by, file_names, bundle, points_total)
VALUES (sqlc.arg(community_id), sqlc.arg(source), sqlc.narg(created_by), sqlc.arg(file_names)::text[], sqlc.arg(bundle), sqlc.arg(points_total))
RETURNING id, created_at;

-- name: ImportPointsCopy :copyfrom
INSERT INTO import_points (import_id, community_id, seq, platform, login, account_id, name, points, seconds, currency)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: ImportGet :one
SELECT * FROM imports WHERE community_id = $1 AND id = $2;

-- name: ImportGetForUpdate :one
SELECT * FROM imports WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: ImportList :many
-- A community's imports, newest first, without their bundles.
SELECT id, community_id, source, state, created_by, file_names, choices, report, points_total, points_done,
    items_done, error, created_at, applied_at, undone_at
FROM imports WHERE community_id = $1
ORDER BY created_at DESC, id DESC
LIMIT 200;

-- name: ImportSetApplying :exec
UPDATE imports SET state = 'applying', choices = sqlc.arg(choices), error = '', heartbeat_at = now()
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportSetItemsDone :exec
UPDATE imports SET items_done = true, report = sqlc.arg(report), heartbeat_at = now()
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportSetPointsDone :exec
UPDATE imports SET points_done = sqlc.arg(points_done), report = sqlc.arg(report), heartbeat_at = now()
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportSetApplied :exec
UPDATE imports SET state = 'applied', applied_at = now(), report = sqlc.arg(report), error = ''
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportSetError :exec
-- Records why an apply attempt failed; failed ends the import's attempts.
UPDATE imports SET error = left(sqlc.arg(error)::text, 2000),
    state = CASE WHEN sqlc.arg(failed)::bool THEN 'failed' ELSE state END
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id) AND state = 'applying';

-- name: ImportSetUndone :exec
UPDATE imports SET state = 'undone', undone_at = now(), report = sqlc.arg(report)
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportNameHolders :many
-- The commands and aliases of a community holding any of names.
SELECT c.name::text AS name, 'command'::text AS kind, c.name::text AS owner,
    (c.workflow_id IS NOT NULL OR c.install_id IS NOT NULL)::bool AS managed
FROM commands c WHERE c.community_id = sqlc.arg(community_id) AND c.name = ANY(sqlc.arg(names)::text[])
UNION ALL
SELECT a.alias::text, 'alias'::text, c.name::text, (c.workflow_id IS NOT NULL OR c.install_id IS NOT NULL)::bool
FROM command_aliases a JOIN commands c ON c.id = a.command_id
WHERE a.community_id = sqlc.arg(community_id) AND a.alias = ANY(sqlc.arg(names)::text[]);

-- name: ImportTimerNames :many
SELECT name FROM timers WHERE community_id = sqlc.arg(community_id) AND name = ANY(sqlc.arg(names)::text[]);

-- name: ImportCounterNames :many
SELECT name FROM counters WHERE community_id = sqlc.arg(community_id) AND name = ANY(sqlc.arg(names)::text[]);

-- name: ImportPointsSummary :many
-- An import's balances by currency: viewers, resolved, points and seconds.
SELECT currency, count(*)::int AS viewers, count(*) FILTER (WHERE account_id <> '')::int AS resolved,
    least(greatest(coalesce(sum(points), 0), -9223372036854775807), 9223372036854775807)::bigint AS points,
    least(coalesce(sum(seconds), 0), 9223372036854775807)::bigint AS seconds
FROM import_points WHERE import_id = sqlc.arg(import_id) AND community_id = sqlc.arg(community_id)
GROUP BY currency ORDER BY currency;

-- name: ImportAccountsByLogin :many
-- Known accounts of a platform by lower-case name (the newest when a name
-- was held by several).
SELECT DISTINCT ON (lower(user_name)) lower(user_name)::text AS login, account_id
FROM identity_accounts
WHERE platform = sqlc.arg(platform) AND lower(user_name) = ANY(sqlc.arg(logins)::text[])
ORDER BY lower(user_name), created_at DESC;

-- name: ImportTimerTarget :one
-- Where imported timers post: the first linked Twitch channel, else the
-- first linked channel.
SELECT platform, server, name FROM platform_entities WHERE community_id = $1
ORDER BY (platform = 'twitch') DESC, id LIMIT 1;

-- name: ImportCommandsInsert :many
INSERT INTO commands (community_id, name, response, permission, user_cooldown_seconds, global_cooldown_seconds, enabled, counter, import_id)
SELECT sqlc.arg(community_id)::bigint, u.name, u.response, u.permission, u.user_cooldown, u.global_cooldown, u.enabled, u.counter, sqlc.arg(import_id)::bigint
FROM (SELECT unnest(sqlc.arg(names)::text[]) AS name, unnest(sqlc.arg(responses)::text[]) AS response,
    unnest(sqlc.arg(permissions)::text[]) AS permission, unnest(sqlc.arg(user_cooldowns)::int[]) AS user_cooldown,
    unnest(sqlc.arg(global_cooldowns)::int[]) AS global_cooldown, unnest(sqlc.arg(enableds)::bool[]) AS enabled,
    unnest(sqlc.arg(counters)::bigint[]) AS counter) u
RETURNING id, name;

-- name: ImportAliasesInsert :exec
INSERT INTO command_aliases (community_id, alias, command_id)
SELECT sqlc.arg(community_id)::bigint, unnest(sqlc.arg(aliases)::text[]), unnest(sqlc.arg(command_ids)::bigint[]);

-- name: ImportCommandForUpdate :one
SELECT * FROM commands WHERE community_id = $1 AND name = $2 FOR UPDATE;

-- name: ImportCommandAliases :many
SELECT alias FROM command_aliases WHERE community_id = $1 AND command_id = $2 ORDER BY alias;

-- name: ImportCommandAliasesDelete :exec
DELETE FROM command_aliases WHERE community_id = $1 AND command_id = $2;

-- name: ImportCommandOverwrite :exec
UPDATE commands SET response = sqlc.arg(response), modules = '{}', parallel = false, permission = sqlc.arg(permission),
    user_cooldown_seconds = sqlc.arg(user_cooldown), global_cooldown_seconds = sqlc.arg(global_cooldown),
    enabled = sqlc.arg(enabled), counter = sqlc.arg(counter), import_id = sqlc.arg(import_id), updated_at = now()
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id);

-- name: ImportCommandRestore :execrows
-- Puts back a command an import overwrote, if the import still holds it.
UPDATE commands SET response = sqlc.arg(response), modules = sqlc.arg(modules)::text[], parallel = sqlc.arg(parallel),
    permission = sqlc.arg(permission), user_cooldown_seconds = sqlc.arg(user_cooldown),
    global_cooldown_seconds = sqlc.arg(global_cooldown), enabled = sqlc.arg(enabled),
    platforms = sqlc.arg(platforms)::text[], counter = sqlc.arg(counter), import_id = sqlc.narg(old_import_id), updated_at = now()
WHERE community_id = sqlc.arg(community_id) AND id = sqlc.arg(id) AND import_id = sqlc.arg(import_id);

-- name: ImportTimersInsert :execrows
INSERT INTO timers (community_id, name, message, platform, server, interval_minutes, min_lines, only_live, enabled, next_fire_at, import_id)
SELECT sqlc.arg(community_id)::bigint, u.name, u.message, sqlc.arg(platform)::text, sqlc.arg(server)::text, u.interval_minutes,
    u.min_lines, u.only_live, u.enabled,
    CASE WHEN u.enabled THEN now() + make_interval(mins => u.interval_minutes) END, sqlc.arg(import_id)::bigint
FROM (SELECT unnest(sqlc.arg(names)::text[]) AS name, unnest(sqlc.arg(messages)::text[]) AS message,
    unnest(sqlc.arg(intervals)::int[]) AS interval_minutes, unnest(sqlc.arg(min_lines)::int[]) AS min_lines,
    unnest(sqlc.arg(only_lives)::bool[]) AS only_live, unnest(sqlc.arg(enableds)::bool[]) AS enabled) u;

-- name: ImportQuoteCounterLock :one
-- The community's last quote number, locked until the transaction ends.
INSERT INTO quote_counters AS c (community_id, last_number)
VALUES (sqlc.arg(community_id)::bigint, coalesce((SELECT max(number) FROM quotes WHERE community_id = sqlc.arg(community_id)::bigint), 0))
ON CONFLICT (community_id) DO UPDATE SET last_number = c.last_number
RETURNING last_number;

-- name: ImportQuoteCounterSet :exec
UPDATE quote_counters SET last_number = greatest(last_number, sqlc.arg(last_number)::int)
WHERE community_id = sqlc.arg(community_id);

-- name: ImportQuotesInsert :execrows
INSERT INTO quotes (community_id, number, text, game, added_by, created_at, import_id)
SELECT sqlc.arg(community_id)::bigint, u.number, u.text, u.game, u.added_by, u.created_at, sqlc.arg(import_id)::bigint
FROM (SELECT unnest(sqlc.arg(numbers)::int[]) AS number, unnest(sqlc.arg(texts)::text[]) AS text,
    unnest(sqlc.arg(games)::text[]) AS game, unnest(sqlc.arg(added_bys)::text[]) AS added_by,
    unnest(sqlc.arg(created_ats)::timestamptz[]) AS created_at) u;

-- name: ImportCountersInsert :execrows
INSERT INTO counters (community_id, name, value, import_id)
SELECT sqlc.arg(community_id)::bigint, unnest(sqlc.arg(names)::text[]), unnest(sqlc.arg(vals)::bigint[]), sqlc.arg(import_id)::bigint
ON CONFLICT (community_id, name) DO NOTHING;

-- name: ImportRulesInsert :execrows
INSERT INTO moderation_rules (community_id, match_kind, pattern, action, import_id)
SELECT sqlc.arg(community_id)::bigint, unnest(sqlc.arg(kinds)::text[]), unnest(sqlc.arg(patterns)::text[]), 'delete', sqlc.arg(import_id)::bigint;

-- name: ImportPointsBatch :many
-- One batch of an import's balances, in file order.
SELECT seq, platform, login, account_id, name, points, seconds, currency FROM import_points
WHERE import_id = sqlc.arg(import_id) AND community_id = sqlc.arg(community_id)
  AND seq >= sqlc.arg(from_seq) AND seq < sqlc.arg(to_seq)
ORDER BY seq;

-- name: ImportAccountsLock :exec
-- Locks (creating the new ones) the accounts a batch credits, in key order
-- so that two batches, or a batch and a link, cannot deadlock. An imported
-- name only fills an empty one: the platform's is newer.
INSERT INTO identity_accounts (platform, account_id, user_name)
SELECT DISTINCT ON (u.platform, u.account_id) u.platform, u.account_id, left(u.user_name, 100)
FROM (SELECT unnest(sqlc.arg(platforms)::text[]) AS platform, unnest(sqlc.arg(account_ids)::text[]) AS account_id,
    unnest(sqlc.arg(user_names)::text[]) AS user_name) u
ORDER BY u.platform, u.account_id, u.user_name DESC
ON CONFLICT (platform, account_id) DO UPDATE SET user_name = EXCLUDED.user_name
WHERE identity_accounts.user_name = '' AND EXCLUDED.user_name <> '';

-- name: ImportAccountIdentities :many
-- The identity of each locked account (a row per input, by ord).
SELECT c.ord::int AS ord, a.identity_id, a.user_name
FROM (SELECT unnest(sqlc.arg(ords)::int[]) AS ord, unnest(sqlc.arg(platforms)::text[]) AS platform,
    unnest(sqlc.arg(account_ids)::text[]) AS account_id) c
JOIN identity_accounts a ON a.platform = c.platform AND a.account_id = c.account_id;

-- name: ImportBalancesAdd :many
-- Adds to each identity's balance (one row per community and identity, in
-- key order so that two writers cannot deadlock); a balance that would
-- leave ±(2^53 − 1) is left as it is and not returned.
INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
SELECT u.community_id, u.identity_id, u.platform, u.user_id, u.user_name, u.delta
FROM (SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id,
    unnest(sqlc.arg(platforms)::text[]) AS platform, unnest(sqlc.arg(user_ids)::text[]) AS user_id,
    unnest(sqlc.arg(user_names)::text[]) AS user_name, unnest(sqlc.arg(deltas)::bigint[]) AS delta) u
ORDER BY u.community_id, u.identity_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET balance = points_balances.balance + EXCLUDED.balance, updated_at = now()
WHERE abs(points_balances.balance::numeric + EXCLUDED.balance::numeric) <= 9007199254740991
RETURNING points_balances.community_id, points_balances.identity_id;

-- name: ImportLedgerInsert :exec
INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason, import_id)
SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(identity_ids)::bigint[]), unnest(sqlc.arg(platforms)::text[]),
    unnest(sqlc.arg(user_ids)::text[]), unnest(sqlc.arg(user_names)::text[]), unnest(sqlc.arg(deltas)::bigint[]),
    unnest(sqlc.arg(reasons)::text[]), unnest(sqlc.arg(import_ids)::bigint[]);

-- name: ImportWatchAdd :exec
-- Adds watch time to each identity (one row per community and identity, in
-- key order).
INSERT INTO watch_time (community_id, identity_id, platform, user_id, user_name, seconds)
SELECT u.community_id, u.identity_id, u.platform, u.user_id, u.user_name, u.seconds
FROM (SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id,
    unnest(sqlc.arg(platforms)::text[]) AS platform, unnest(sqlc.arg(user_ids)::text[]) AS user_id,
    unnest(sqlc.arg(user_names)::text[]) AS user_name, unnest(sqlc.arg(seconds)::bigint[]) AS seconds) u
ORDER BY u.community_id, u.identity_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET seconds = least(watch_time.seconds + EXCLUDED.seconds, 9007199254740991), updated_at = now();

-- name: ImportPendingInsert :exec
-- Balances for logins no account is known by yet; a login twice in one
-- import adds up.
INSERT INTO pending_points (community_id, platform, login, import_id, points, seconds, reason)
SELECT u.community_id, u.platform, u.login, u.import_id, sum(u.points), sum(u.seconds), min(u.reason)
FROM (SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(platforms)::text[]) AS platform,
    unnest(sqlc.arg(logins)::text[]) AS login, unnest(sqlc.arg(import_ids)::bigint[]) AS import_id,
    unnest(sqlc.arg(points)::bigint[]) AS points, unnest(sqlc.arg(seconds)::bigint[]) AS seconds,
    unnest(sqlc.arg(reasons)::text[]) AS reason) u
GROUP BY u.community_id, u.platform, u.login, u.import_id
ORDER BY u.community_id, u.platform, u.login, u.import_id
ON CONFLICT (community_id, platform, login, import_id) DO UPDATE
SET points = pending_points.points + EXCLUDED.points, seconds = pending_points.seconds + EXCLUDED.seconds;

-- name: PendingPointsTake :many
-- Removes and returns the pending balances of logins (community 0: in every
-- community). A concurrent take waits for the row and then finds it gone,
-- so each balance is taken once.
DELETE FROM pending_points p
USING (SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(logins)::text[]) AS login) s
WHERE p.platform = sqlc.arg(platform) AND p.login = s.login AND (s.community_id = 0 OR p.community_id = s.community_id)
RETURNING p.community_id, p.login, p.import_id, p.points, p.seconds, p.reason;

-- name: ImportPointsBind :exec
-- Records the account a pending login was bound to, for undo.
UPDATE import_points ip SET account_id = u.account_id
FROM (SELECT unnest(sqlc.arg(import_ids)::bigint[]) AS import_id, unnest(sqlc.arg(logins)::text[]) AS login,
    unnest(sqlc.arg(account_ids)::text[]) AS account_id) u
WHERE ip.import_id = u.import_id AND ip.platform = sqlc.arg(platform) AND ip.login = u.login AND ip.account_id = '';

-- name: ImportDeleteCommands :execrows
DELETE FROM commands WHERE community_id = $1 AND import_id = $2;

-- name: ImportDeleteTimers :execrows
DELETE FROM timers WHERE community_id = $1 AND import_id = $2;

-- name: ImportDeleteQuotes :execrows
DELETE FROM quotes WHERE community_id = $1 AND import_id = $2;

-- name: ImportDeleteCounters :execrows
DELETE FROM counters WHERE community_id = $1 AND import_id = $2;

-- name: ImportDeleteRules :execrows
DELETE FROM moderation_rules WHERE community_id = $1 AND import_id = $2;

-- name: ImportDeletePending :execrows
DELETE FROM pending_points WHERE community_id = $1 AND import_id = $2;

-- name: ImportPointsReverse :one
-- Takes back what an import's ledger rows still hold, per identity: never
-- more than the balance has left on that side of zero. The reversing rows
-- carry the import's id, so reversing twice takes nothing more.
WITH got AS (
    SELECT l.identity_id, sum(l.delta) AS delta FROM points_ledger l
    WHERE l.community_id = sqlc.arg(community_id) AND l.import_id = sqlc.arg(import_id)
    GROUP BY l.identity_id HAVING sum(l.delta) <> 0
), cur AS (
    SELECT b.identity_id, b.balance, b.platform, b.user_id, b.user_name, g.delta
    FROM points_balances b JOIN got g ON g.identity_id = b.identity_id
    WHERE b.community_id = sqlc.arg(community_id)
    ORDER BY b.identity_id
    FOR UPDATE OF b
), rev AS (
    SELECT identity_id, platform, user_id, user_name,
        (CASE WHEN delta > 0 THEN -least(delta, greatest(balance, 0)) ELSE least(-delta, greatest(-balance, 0)) END)::bigint AS back
    FROM cur
), upd AS (
    UPDATE points_balances b SET balance = b.balance + r.back, updated_at = now()
    FROM rev r WHERE b.community_id = sqlc.arg(community_id) AND b.identity_id = r.identity_id AND r.back <> 0
), ledger AS (
    INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason, import_id)
    SELECT sqlc.arg(community_id)::bigint, r.identity_id, r.platform, r.user_id, r.user_name, r.back, sqlc.arg(reason)::text, sqlc.arg(import_id)::bigint
    FROM rev r WHERE r.back <> 0
)
SELECT count(*) FILTER (WHERE back <> 0)::int AS identities, coalesce(sum(back), 0)::bigint AS points FROM rev;

-- name: ImportWatchTimeReverse :execrows
-- Takes back the watch time an import added (never below zero).
WITH w AS (
    SELECT a.identity_id, sum(p.seconds) AS secs FROM import_points p
    JOIN identity_accounts a ON a.platform = p.platform AND a.account_id = p.account_id
    WHERE p.import_id = sqlc.arg(import_id) AND p.community_id = sqlc.arg(community_id) AND p.account_id <> ''
      AND p.seconds > 0 AND p.seq < sqlc.arg(points_done) AND (sqlc.arg(currency)::text = '' OR p.currency = sqlc.arg(currency)::text)
    GROUP BY a.identity_id
)
UPDATE watch_time t SET seconds = greatest(t.seconds - w.secs, 0), updated_at = now()
FROM w WHERE t.community_id = sqlc.arg(community_id) AND t.identity_id = w.identity_id;

-- name: ImportQuoteLastNumber :one
-- The community's last quote number, read without a lock (for the preview).
SELECT coalesce((SELECT c.last_number FROM quote_counters c WHERE c.community_id = sqlc.arg(community_id)::bigint),
    (SELECT max(q.number) FROM quotes q WHERE q.community_id = sqlc.arg(community_id)::bigint), 0)::int AS last_number;

-- name: ImportsStalled :many
-- Applying imports that made no progress for stale seconds, locked (other
-- instances skip them) and marked as seen now, so that one instance queues
-- each of them again.
UPDATE imports SET heartbeat_at = now()
WHERE id IN (
    SELECT i.id FROM imports i
    WHERE i.state = 'applying' AND coalesce(i.heartbeat_at, i.created_at) < now() - make_interval(secs => sqlc.arg(stale_seconds)::double precision)
    ORDER BY i.id
    LIMIT 20
    FOR UPDATE SKIP LOCKED
)
RETURNING id, community_id;
