-- name: EntityResolve :one
-- The community a platform entity belongs to, with its router settings.
SELECT e.community_id, c.command_prefix, c.slow_down_notice
FROM platform_entities e
JOIN communities c ON c.id = e.community_id
WHERE e.platform = $1 AND e.server = $2;

-- name: EntityAdd :one
INSERT INTO platform_entities (community_id, platform, server, name)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: EntityListByCommunity :many
SELECT * FROM platform_entities WHERE community_id = $1 ORDER BY platform, server;

-- name: EntityRemove :one
DELETE FROM platform_entities WHERE community_id = $1 AND id = $2 RETURNING *;

-- name: CommunitySetPrefix :exec
UPDATE communities SET command_prefix = $2, updated_at = now() WHERE id = $1;

-- name: CommunityPrefixForUpdate :one
-- The prefix before a change, locking the community's row until the change commits.
SELECT command_prefix FROM communities WHERE id = $1 FOR UPDATE;

-- name: CommandListByCommunity :many
SELECT * FROM commands WHERE community_id = $1 ORDER BY name;

-- name: CommandAliasesByCommunity :many
SELECT * FROM command_aliases WHERE community_id = $1 ORDER BY alias;

-- name: CommandGetByName :one
SELECT * FROM commands WHERE community_id = $1 AND name = $2;

-- name: CommandGet :one
SELECT * FROM commands WHERE community_id = $1 AND id = $2;

-- name: CommandGetForUpdate :one
-- A command before a change, locked until the change commits.
SELECT * FROM commands WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: CommandAliasNames :many
SELECT alias FROM command_aliases WHERE community_id = $1 AND command_id = $2 ORDER BY alias;

-- name: CommandCreate :one
INSERT INTO commands (community_id, name, response, modules, parallel, permission,
    user_cooldown_seconds, global_cooldown_seconds, enabled, platforms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: CommandUpdate :one
UPDATE commands SET response = $3, modules = $4, parallel = $5, permission = $6,
    user_cooldown_seconds = $7, global_cooldown_seconds = $8, enabled = $9, platforms = $10,
    updated_at = now()
WHERE community_id = $1 AND id = $2
RETURNING *;

-- name: CommandDelete :execrows
DELETE FROM commands WHERE community_id = $1 AND id = $2;

-- name: CommandIncrementCounter :one
UPDATE commands SET counter = counter + 1 WHERE community_id = $1 AND id = $2 RETURNING counter;

-- name: CommandNameTaken :one
-- Whether name is a command or an alias in the community.
SELECT (EXISTS (SELECT 1 FROM commands c WHERE c.community_id = sqlc.arg(community_id) AND c.name = sqlc.arg(name))
    OR EXISTS (SELECT 1 FROM command_aliases a WHERE a.community_id = sqlc.arg(community_id) AND a.alias = sqlc.arg(name)))::boolean AS taken;

-- name: AliasAdd :exec
INSERT INTO command_aliases (community_id, alias, command_id) VALUES ($1, $2, $3);

-- name: AliasDelete :execrows
DELETE FROM command_aliases WHERE community_id = $1 AND alias = $2;

-- name: AliasRemove :one
-- Deletes an alias and returns the name of the command it ran.
WITH gone AS (
    DELETE FROM command_aliases WHERE command_aliases.community_id = $1 AND alias = $2 RETURNING command_id
)
SELECT c.name FROM commands c JOIN gone ON c.id = gone.command_id;

-- name: ModerationRuleListByCommunity :many
SELECT * FROM moderation_rules WHERE community_id = $1 ORDER BY priority, id;

-- name: ModerationRuleCreate :one
INSERT INTO moderation_rules (community_id, priority, match_kind, pattern, action, response,
    timeout_seconds, exempt_moderators, exempt_subscribers, enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: ModerationRuleGetForUpdate :one
SELECT * FROM moderation_rules WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: ModerationRuleUpdate :one
UPDATE moderation_rules SET priority = $3, match_kind = $4, pattern = $5, action = $6, response = $7,
    timeout_seconds = $8, exempt_moderators = $9, exempt_subscribers = $10, enabled = $11
WHERE community_id = $1 AND id = $2
RETURNING *;

-- name: ModerationRuleDelete :execrows
DELETE FROM moderation_rules WHERE community_id = $1 AND id = $2;

-- name: ModerationRuleRemove :one
DELETE FROM moderation_rules WHERE community_id = $1 AND id = $2 RETURNING *;

-- name: QuoteAdd :one
-- The counter row is locked until the transaction ends, so concurrent adds
-- in a community take numbers one after the other.
WITH next AS (
    INSERT INTO quote_counters AS c (community_id, last_number) VALUES (sqlc.arg(community_id)::bigint, 1)
    ON CONFLICT (community_id) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number
)
INSERT INTO quotes (community_id, number, text, added_by)
SELECT sqlc.arg(community_id)::bigint, next.last_number, sqlc.arg(text)::text, sqlc.arg(added_by)::text
FROM next
RETURNING number;

-- name: QuoteGet :one
SELECT * FROM quotes WHERE community_id = $1 AND number = $2;

-- name: QuoteRandom :one
SELECT * FROM quotes WHERE community_id = $1 ORDER BY random() LIMIT 1;

-- name: QuoteDelete :execrows
DELETE FROM quotes WHERE community_id = $1 AND number = $2;

-- name: QuoteRemove :one
DELETE FROM quotes WHERE community_id = $1 AND number = $2 RETURNING *;

-- name: PointsBalanceAdd :one
-- Adds to the balance of the identity of an account and returns it, without
-- a ledger row (PointsAdd writes both). No row when the new balance would
-- leave ±(2^53 − 1): the sum is checked in numeric, which cannot overflow, so
-- a change is refused, never wrapped.
WITH acct AS (
    INSERT INTO identity_accounts (platform, account_id, user_name)
    VALUES (sqlc.arg(platform)::text, sqlc.arg(user_id)::text, left(sqlc.arg(user_name)::text, 100))
    ON CONFLICT (platform, account_id) DO UPDATE
    SET user_name = CASE WHEN EXCLUDED.user_name = '' THEN identity_accounts.user_name ELSE EXCLUDED.user_name END
    RETURNING identity_id
)
INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
SELECT sqlc.arg(community_id)::bigint, acct.identity_id, sqlc.arg(platform)::text, sqlc.arg(user_id)::text, sqlc.arg(user_name)::text, sqlc.arg(balance)::bigint
FROM acct
WHERE abs(sqlc.arg(balance)::bigint::numeric) <= 9007199254740991
ON CONFLICT (community_id, identity_id) DO UPDATE
SET balance = points_balances.balance + EXCLUDED.balance,
    platform = EXCLUDED.platform, user_id = EXCLUDED.user_id,
    user_name = CASE WHEN EXCLUDED.user_name = '' THEN points_balances.user_name ELSE EXCLUDED.user_name END,
    updated_at = now()
WHERE abs(points_balances.balance::numeric + EXCLUDED.balance::numeric) <= 9007199254740991
RETURNING balance;

-- name: PointsAdd :one
-- Changes the balance of the identity an account belongs to and records the
-- change in the ledger, in one statement; returns the new balance. The
-- account's row is locked first (and created, with its own identity, if the
-- account is new), so a link that moves the account to another identity
-- waits for this change or this change waits for it: a point never lands on
-- an identity the account just left. No row, and no ledger row, when the
-- balance would leave ±(2^53 − 1) (checked in numeric, which cannot overflow).
WITH acct AS (
    INSERT INTO identity_accounts (platform, account_id, user_name)
    VALUES (sqlc.arg(platform)::text, sqlc.arg(user_id)::text, left(sqlc.arg(user_name)::text, 100))
    ON CONFLICT (platform, account_id) DO UPDATE
    SET user_name = CASE WHEN EXCLUDED.user_name = '' THEN identity_accounts.user_name ELSE EXCLUDED.user_name END
    RETURNING identity_id
), bal AS (
    INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
    SELECT sqlc.arg(community_id)::bigint, acct.identity_id, sqlc.arg(platform)::text, sqlc.arg(user_id)::text, sqlc.arg(user_name)::text, sqlc.arg(delta)::bigint
    FROM acct
    WHERE abs(sqlc.arg(delta)::bigint::numeric) <= 9007199254740991
    ON CONFLICT (community_id, identity_id) DO UPDATE
    SET balance = points_balances.balance + EXCLUDED.balance,
        platform = EXCLUDED.platform, user_id = EXCLUDED.user_id,
        user_name = CASE WHEN EXCLUDED.user_name = '' THEN points_balances.user_name ELSE EXCLUDED.user_name END,
        updated_at = now()
    WHERE abs(points_balances.balance::numeric + EXCLUDED.balance::numeric) <= 9007199254740991
    RETURNING points_balances.identity_id, points_balances.balance
), ledger AS (
    INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
    SELECT sqlc.arg(community_id)::bigint, bal.identity_id, sqlc.arg(platform)::text, sqlc.arg(user_id)::text, sqlc.arg(user_name)::text,
        sqlc.arg(delta)::bigint, sqlc.arg(reason)::text
    FROM bal
)
SELECT balance FROM bal;

-- name: PointsAddMany :many
-- PointsAdd for the events of a batch, each account at most once per call:
-- returns the new balance of each account's identity; a change that would
-- take a balance out of ±(2^53 − 1) is refused (no row, no ledger row). Two
-- linked accounts in one batch change their identity's balance once, by the
-- sum, with a ledger row each. Accounts, then balances, are taken in key
-- order, so two batches (or a batch and a link) cannot deadlock.
WITH changes AS (
    SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(platforms)::text[]) AS platform,
        unnest(sqlc.arg(user_ids)::text[]) AS user_id, unnest(sqlc.arg(user_names)::text[]) AS user_name,
        unnest(sqlc.arg(deltas)::bigint[]) AS delta, unnest(sqlc.arg(reasons)::text[]) AS reason
), acct AS (
    INSERT INTO identity_accounts (platform, account_id, user_name)
    SELECT DISTINCT ON (c.platform, c.user_id) c.platform, c.user_id, left(c.user_name, 100) FROM changes c
    ORDER BY c.platform, c.user_id, c.user_name DESC
    ON CONFLICT (platform, account_id) DO UPDATE
    SET user_name = CASE WHEN EXCLUDED.user_name = '' THEN identity_accounts.user_name ELSE EXCLUDED.user_name END
    RETURNING identity_accounts.platform, identity_accounts.account_id, identity_accounts.identity_id
), per AS (
    SELECT c.community_id::bigint AS community_id, a.identity_id, c.platform::text AS platform, c.user_id::text AS user_id,
        c.user_name, c.delta, c.reason
    FROM changes c JOIN acct a ON a.platform = c.platform AND a.account_id = c.user_id
), sums AS (
    SELECT DISTINCT ON (community_id, identity_id) community_id, identity_id, platform, user_id, user_name,
        sum(delta) OVER (PARTITION BY community_id, identity_id) AS delta
    FROM per ORDER BY community_id, identity_id, user_id
), bal AS (
    INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
    SELECT s.community_id, s.identity_id, s.platform, s.user_id, s.user_name, s.delta::bigint FROM sums s
    WHERE abs(s.delta) <= 9007199254740991
    ORDER BY s.community_id, s.identity_id
    ON CONFLICT (community_id, identity_id) DO UPDATE
    SET balance = points_balances.balance + EXCLUDED.balance,
        platform = EXCLUDED.platform, user_id = EXCLUDED.user_id,
        user_name = CASE WHEN EXCLUDED.user_name = '' THEN points_balances.user_name ELSE EXCLUDED.user_name END,
        updated_at = now()
    WHERE abs(points_balances.balance::numeric + EXCLUDED.balance::numeric) <= 9007199254740991
    RETURNING points_balances.community_id, points_balances.identity_id, points_balances.balance
), ledger AS (
    INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
    SELECT p.community_id, p.identity_id, p.platform, p.user_id, p.user_name, p.delta, p.reason
    FROM per p JOIN bal b ON b.community_id = p.community_id AND b.identity_id = p.identity_id
)
SELECT p.community_id, p.platform, p.user_id, b.balance
FROM per p JOIN bal b ON b.community_id = p.community_id AND b.identity_id = p.identity_id;

-- name: PointsBalanceGet :one
-- The balance of the identity an account belongs to.
SELECT b.balance FROM points_balances b
JOIN identity_accounts a ON a.identity_id = b.identity_id
WHERE b.community_id = sqlc.arg(community_id) AND a.platform = sqlc.arg(platform) AND a.account_id = sqlc.arg(user_id);

-- name: PointsBalanceFindByName :one
-- The account of a platform called name whose identity has points in the
-- community (the one that earned most recently when names repeat).
SELECT a.platform, a.account_id AS user_id, a.user_name
FROM identity_accounts a
JOIN points_balances b ON b.community_id = sqlc.arg(community_id) AND b.identity_id = a.identity_id
WHERE a.platform = sqlc.arg(platform) AND lower(a.user_name) = lower(sqlc.arg(name))
ORDER BY b.updated_at DESC LIMIT 1;

-- name: PointsLeaderboard :many
-- One row per identity: a linked person is ranked once.
SELECT * FROM points_balances WHERE community_id = $1 ORDER BY balance DESC, user_name LIMIT $2;

-- name: PointsLedgerByUser :many
-- The ledger of the identity an account belongs to, newest first.
SELECT l.* FROM points_ledger l
WHERE l.community_id = sqlc.arg(community_id)
  AND l.identity_id = (SELECT a.identity_id FROM identity_accounts a WHERE a.platform = sqlc.arg(platform) AND a.account_id = sqlc.arg(user_id))
ORDER BY l.id DESC LIMIT sqlc.arg(lim);

-- name: PointsValuesByCommunity :many
SELECT * FROM points_values WHERE community_id = $1;

-- name: PointsValueSet :exec
INSERT INTO points_values (community_id, key, points) VALUES ($1, $2, $3)
ON CONFLICT (community_id, key) DO UPDATE SET points = EXCLUDED.points;

-- name: PointsValueGet :one
SELECT points FROM points_values WHERE community_id = $1 AND key = $2;

-- name: ProcessedEventDeleteOld :execrows
DELETE FROM processed_events WHERE created_at < now() - interval '24 hours';

-- name: CommandExecutionInsert :copyfrom
INSERT INTO command_executions (community_id, command, platform, user_id, user_name, args, executor, outcome, duration_us, error, created_at, module_version_id, refused)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: CommandExecutionList :many
SELECT * FROM command_executions
WHERE community_id = sqlc.arg(community_id)
  AND (sqlc.narg(command)::text IS NULL OR command = sqlc.narg(command))
  AND (sqlc.narg(user_name)::text IS NULL OR user_name ILIKE '%' || sqlc.narg(user_name) || '%')
  AND (sqlc.narg(outcome)::text IS NULL OR outcome = sqlc.narg(outcome))
  AND (sqlc.narg(before_id)::bigint IS NULL OR id < sqlc.narg(before_id))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: CommandSetCounter :execrows
UPDATE commands SET counter = $3 WHERE community_id = $1 AND id = $2;

-- name: PointsValueDelete :exec
DELETE FROM points_values WHERE community_id = $1 AND key = $2;

-- name: ProcessedEventClaim :many
-- Claims for the instance owner each event id that has no live row: none
-- yet, or an answer older than 24 hours. Returns the ids claimed; the others
-- are answered or being handled (ProcessedEventState). Ids come sorted, so two
-- claims of overlapping batches take their rows in one order.
INSERT INTO processed_events (community_id, event_id, result, claimed_by)
SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(event_ids)::text[]), NULL::jsonb, sqlc.arg(owner)::bigint
ON CONFLICT (community_id, event_id) DO UPDATE SET result = NULL, claimed_by = EXCLUDED.claimed_by, created_at = now()
WHERE processed_events.created_at <= now() - interval '24 hours'
RETURNING community_id, event_id;

-- name: ProcessedEventState :many
-- The answer of each id, or, while it has none, the instance handling it and
-- whether that instance is alive (holds its advisory lock, InstanceLock).
SELECT p.community_id, p.event_id, p.result, p.claimed_by,
    (p.result IS NULL AND waddle_instance_alive(p.claimed_by))::boolean AS alive
FROM processed_events p
WHERE (p.community_id, p.event_id) IN (
    SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(event_ids)::text[]))
  AND p.created_at > now() - interval '24 hours';

-- name: ProcessedEventTakeOver :execrows
-- Claims an id whose claim was left by an instance that died.
UPDATE processed_events SET claimed_by = sqlc.arg(owner), created_at = now()
WHERE community_id = sqlc.arg(community_id) AND event_id = sqlc.arg(event_id)
  AND result IS NULL AND claimed_by = sqlc.arg(previous);

-- name: ProcessedEventAnswer :one
-- Stores the answer of a claimed event, with the execution-log rows of the
-- commands it ran (a JSON array), in the transaction of its effects. 0 when
-- the claim is no longer the owner's: the caller rolls back.
WITH answer AS (
    UPDATE processed_events SET result = sqlc.arg(result)::jsonb
    WHERE processed_events.community_id = sqlc.arg(community_id) AND processed_events.event_id = sqlc.arg(event_id)
      AND processed_events.claimed_by = sqlc.arg(owner) AND processed_events.result IS NULL
    RETURNING processed_events.community_id
), logged AS (
    INSERT INTO command_executions (community_id, command, platform, user_id, user_name, args, executor, outcome, duration_us, error, created_at, module_version_id, refused)
    SELECT a.community_id, x.command, x.platform, x.user_id, x.user_name, x.args, x.executor, x.outcome, x.duration_us, x.error, x.created_at,
        x.module_version_id, coalesce(x.refused, '{}')
    FROM answer a, jsonb_to_recordset(sqlc.arg(executions)::jsonb) AS x (command text, platform text, user_id text, user_name text,
        args text, executor text, outcome text, duration_us bigint, error text, created_at timestamptz, module_version_id bigint, refused text[])
)
SELECT count(*) FROM answer;

-- name: ProcessedEventAnswerMany :many
-- ProcessedEventAnswer for the events of a batch that had no other effects,
-- in one statement; each execution names its event. Returns the ids stored.
WITH answers AS (
    UPDATE processed_events p SET result = u.result
    FROM (SELECT unnest(sqlc.arg(community_ids)::bigint[]) AS community_id, unnest(sqlc.arg(event_ids)::text[]) AS event_id,
            unnest(sqlc.arg(results)::jsonb[]) AS result) AS u
    WHERE p.community_id = u.community_id AND p.event_id = u.event_id AND p.claimed_by = sqlc.arg(owner) AND p.result IS NULL
    RETURNING p.community_id, p.event_id
), logged AS (
    INSERT INTO command_executions (community_id, command, platform, user_id, user_name, args, executor, outcome, duration_us, error, created_at, module_version_id, refused)
    SELECT a.community_id, x.command, x.platform, x.user_id, x.user_name, x.args, x.executor, x.outcome, x.duration_us, x.error, x.created_at,
        x.module_version_id, coalesce(x.refused, '{}')
    FROM jsonb_to_recordset(sqlc.arg(executions)::jsonb) AS x (community_id bigint, event_id text, command text, platform text, user_id text,
        user_name text, args text, executor text, outcome text, duration_us bigint, error text, created_at timestamptz, module_version_id bigint, refused text[])
    JOIN answers a ON a.community_id = x.community_id AND a.event_id = x.event_id
)
SELECT community_id, event_id FROM answers;

-- name: ProcessedEventRelease :exec
-- Gives up the owner's claims of events that failed, so a retry handles them.
DELETE FROM processed_events
WHERE (community_id, event_id) IN (SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(event_ids)::text[]))
  AND claimed_by = sqlc.arg(owner) AND result IS NULL;

-- name: InstanceLock :exec
-- Held by a running instance on a connection of its own: its claims are alive.
SELECT pg_advisory_lock(sqlc.arg(owner)::bigint);

-- name: ModuleListByCommunity :many
SELECT * FROM community_modules WHERE community_id = $1 ORDER BY name;

-- name: ModuleCreate :one
INSERT INTO community_modules (community_id, name, kind, url, secret_sealed, namespace, action, function, region,
    access_key_id, secret_key_sealed, timeout_ms, permission)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: ModuleDelete :execrows
DELETE FROM community_modules WHERE community_id = $1 AND id = $2;

-- name: ModuleRemove :one
DELETE FROM community_modules WHERE community_id = $1 AND id = $2 RETURNING *;
