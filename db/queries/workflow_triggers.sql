-- name: CommandListByWorkflow :many
-- The commands a workflow's published triggers made.
SELECT * FROM commands WHERE community_id = $1 AND workflow_id = $2 ORDER BY name;

-- name: CommandNameHolder :one
-- What holds a command name in a community: a command (with the workflow
-- that owns it, if one does) or an alias (with its command's name).
SELECT x.kind::text AS kind, x.owner::text AS owner, x.workflow_id::bigint AS workflow_id, coalesce(w.name, '')::text AS workflow_name
FROM (
    SELECT 'command' AS kind, c.name AS owner, coalesce(c.workflow_id, 0) AS workflow_id FROM commands c
    WHERE c.community_id = sqlc.arg(community_id) AND c.name = sqlc.arg(name)
    UNION ALL
    SELECT 'alias', c.name, coalesce(c.workflow_id, 0) FROM command_aliases a JOIN commands c ON c.id = a.command_id
    WHERE a.community_id = sqlc.arg(community_id) AND a.alias = sqlc.arg(name)
) x
LEFT JOIN workflows w ON w.community_id = sqlc.arg(community_id) AND w.id = x.workflow_id
LIMIT 1;

-- name: CommandUpsertForWorkflow :one
-- Creates or changes a workflow's command; no row when the name belongs to
-- something else (taken since it was checked).
INSERT INTO commands (community_id, name, permission, user_cooldown_seconds, global_cooldown_seconds, platforms, workflow_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (community_id, name) DO UPDATE SET permission = EXCLUDED.permission,
    user_cooldown_seconds = EXCLUDED.user_cooldown_seconds, global_cooldown_seconds = EXCLUDED.global_cooldown_seconds,
    platforms = EXCLUDED.platforms, enabled = true, updated_at = now()
WHERE commands.workflow_id = EXCLUDED.workflow_id
RETURNING *;

-- name: CommandDeleteForWorkflow :execrows
-- Removes a workflow's commands but those named in keep.
DELETE FROM commands WHERE community_id = $1 AND workflow_id = $2 AND NOT (name = ANY (sqlc.arg(keep)::text[]));

-- name: WorkflowPublishedByCommunity :many
-- A community's published workflows with their published definitions.
SELECT w.id, w.community_id, w.name, v.version, v.definition
FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
WHERE w.community_id = $1 AND w.status = 'published';
