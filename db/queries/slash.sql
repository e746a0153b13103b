-- name: SlashChoiceList :many
SELECT name, choice FROM slash_choices WHERE community_id = $1 ORDER BY name;

-- name: SlashChoiceGetForUpdate :one
SELECT choice FROM slash_choices WHERE community_id = $1 AND name = $2 FOR UPDATE;

-- name: SlashChoiceSet :exec
INSERT INTO slash_choices (community_id, name, choice) VALUES ($1, $2, $3)
ON CONFLICT (community_id, name) DO UPDATE SET choice = EXCLUDED.choice, updated_at = now();

-- name: SlashChoiceDelete :execrows
DELETE FROM slash_choices WHERE community_id = $1 AND name = $2;

-- name: CommandUsageBetween :many
-- How often each command ran in [since, until): every attempt counts, a
-- refused one too.
SELECT command, count(*)::bigint AS uses FROM command_executions
WHERE community_id = sqlc.arg(community_id) AND created_at >= sqlc.arg(since) AND created_at < sqlc.arg(until)
GROUP BY command;
