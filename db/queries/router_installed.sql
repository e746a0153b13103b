-- The router's side of installed marketplace modules.

-- name: InstallListForRouter :many
-- A community's installs as its router snapshot needs them: the running
-- version's manifest, the sealed secrets, and the purchase that pays for a
-- paid module (status and expiry are judged at run time).
SELECT i.id, i.version_id, i.granted, i.config, i.secrets_sealed, i.command_prefix,
    m.slug, m.name AS module_name, m.price_kind, m.signing_secret_sealed,
    v.version, v.manifest, v.credentials_sealed,
    coalesce(p.status, '')::text AS purchase_status, p.expires_at AS purchase_expires_at
FROM marketplace_installs i
JOIN marketplace_modules m ON m.id = i.module_id
JOIN marketplace_versions v ON v.id = i.version_id
LEFT JOIN marketplace_purchases p ON p.community_id = i.community_id AND p.module_id = i.module_id
WHERE i.community_id = $1
ORDER BY i.id;

-- name: InstallCommandNameHolder :one
-- What holds a command name in a community: a command (with the workflow or
-- install that owns it, if one does) or an alias (with its command's name).
SELECT x.kind::text AS kind, x.owner::text AS owner, x.workflow_id::bigint AS workflow_id, x.install_id::bigint AS install_id,
    coalesce(w.name, '')::text AS workflow_name, coalesce(m.slug, '')::text AS module_slug
FROM (
    SELECT 'command' AS kind, c.name AS owner, coalesce(c.workflow_id, 0) AS workflow_id, coalesce(c.install_id, 0) AS install_id FROM commands c
    WHERE c.community_id = sqlc.arg(community_id) AND c.name = sqlc.arg(name)
    UNION ALL
    SELECT 'alias', c.name, coalesce(c.workflow_id, 0), coalesce(c.install_id, 0) FROM command_aliases a JOIN commands c ON c.id = a.command_id
    WHERE a.community_id = sqlc.arg(community_id) AND a.alias = sqlc.arg(name)
) x
LEFT JOIN workflows w ON w.community_id = sqlc.arg(community_id) AND w.id = x.workflow_id
LEFT JOIN marketplace_installs i ON i.community_id = sqlc.arg(community_id) AND i.id = x.install_id
LEFT JOIN marketplace_modules m ON m.id = i.module_id
LIMIT 1;

-- name: CommandDeleteForInstall :execrows
-- Removes an install's commands (their aliases go with them).
DELETE FROM commands WHERE community_id = $1 AND install_id = $2;

-- name: CommandInsertForInstall :one
INSERT INTO commands (community_id, name, permission, user_cooldown_seconds, global_cooldown_seconds, platforms, install_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: CommandAliasInsertForInstall :exec
INSERT INTO command_aliases (community_id, alias, command_id)
SELECT sqlc.arg(community_id), sqlc.arg(alias), c.id FROM commands c
WHERE c.community_id = sqlc.arg(community_id) AND c.id = sqlc.arg(command_id) AND c.install_id IS NOT NULL;
