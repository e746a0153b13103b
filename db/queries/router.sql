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

-- name: ModerationRuleDelete :execrows
DELETE FROM moderation_rules WHERE community_id = $1 AND id = $2;

-- name: ModerationRuleRemove :one
DELETE FROM moderation_rules WHERE community_id = $1 AND id = $2 RETURNING *;

-- name: QuoteAdd :one
INSERT INTO quotes (community_id, number, text, added_by)
SELECT sqlc.arg(community_id)::bigint, coalesce(max(q.number), 0) + 1, sqlc.arg(text)::text, sqlc.arg(added_by)::text
FROM quotes q WHERE q.community_id = sqlc.arg(community_id)
RETURNING number;

-- name: QuoteGet :one
SELECT * FROM quotes WHERE community_id = $1 AND number = $2;

-- name: QuoteRandom :one
SELECT * FROM quotes WHERE community_id = $1 ORDER BY random() LIMIT 1;

-- name: QuoteDelete :execrows
DELETE FROM quotes WHERE community_id = $1 AND number = $2;

-- name: QuoteRemove :one
DELETE FROM quotes WHERE community_id = $1 AND number = $2 RETURNING *;

-- name: PointsLedgerInsert :exec
INSERT INTO points_ledger (community_id, platform, user_id, user_name, delta, reason)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: PointsBalanceAdd :one
INSERT INTO points_balances (community_id, platform, user_id, user_name, balance)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (community_id, platform, user_id) DO UPDATE
SET balance = points_balances.balance + EXCLUDED.balance,
    user_name = CASE WHEN EXCLUDED.user_name = '' THEN points_balances.user_name ELSE EXCLUDED.user_name END,
    updated_at = now()
RETURNING balance;

-- name: PointsBalanceGet :one
SELECT balance FROM points_balances WHERE community_id = $1 AND platform = $2 AND user_id = $3;

-- name: PointsBalanceFindByName :one
SELECT * FROM points_balances WHERE community_id = $1 AND platform = $2 AND lower(user_name) = lower($3)
ORDER BY updated_at DESC LIMIT 1;

-- name: PointsLeaderboard :many
SELECT * FROM points_balances WHERE community_id = $1 ORDER BY balance DESC, user_name LIMIT $2;

-- name: PointsLedgerByUser :many
SELECT * FROM points_ledger WHERE community_id = $1 AND platform = $2 AND user_id = $3 ORDER BY id DESC LIMIT $4;

-- name: PointsValuesByCommunity :many
SELECT * FROM points_values WHERE community_id = $1;

-- name: PointsValueSet :exec
INSERT INTO points_values (community_id, key, points) VALUES ($1, $2, $3)
ON CONFLICT (community_id, key) DO UPDATE SET points = EXCLUDED.points;

-- name: PointsValueGet :one
SELECT points FROM points_values WHERE community_id = $1 AND key = $2;

-- name: ProcessedEventGet :one
SELECT result FROM processed_events
WHERE community_id = $1 AND event_id = $2 AND created_at > now() - interval '24 hours';

-- name: ProcessedEventInsert :exec
INSERT INTO processed_events (community_id, event_id, result) VALUES ($1, $2, $3)
ON CONFLICT (community_id, event_id) DO UPDATE SET result = EXCLUDED.result, created_at = now();

-- name: ProcessedEventDeleteOld :execrows
DELETE FROM processed_events WHERE created_at < now() - interval '24 hours';

-- name: CommandExecutionInsert :copyfrom
INSERT INTO command_executions (community_id, command, platform, user_id, user_name, args, executor, outcome, duration_us, error, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

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

-- name: ProcessedEventGetMany :many
SELECT p.community_id, p.event_id, p.result FROM processed_events p
WHERE (p.community_id, p.event_id) IN (
    SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(event_ids)::text[]))
  AND p.created_at > now() - interval '24 hours';

-- name: ProcessedEventInsertMany :exec
INSERT INTO processed_events (community_id, event_id, result)
SELECT unnest(sqlc.arg(community_ids)::bigint[]), unnest(sqlc.arg(event_ids)::text[]), unnest(sqlc.arg(results)::jsonb[])
ON CONFLICT (community_id, event_id) DO UPDATE SET result = EXCLUDED.result, created_at = now();

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
