-- Installing marketplace modules into communities. Every query of an
-- install filters by its community.

-- name: InstallModuleBySlug :one
SELECT id, slug, name, price_kind, listed, core FROM marketplace_modules WHERE slug = $1;

-- name: InstallVersionGet :one
SELECT * FROM marketplace_versions WHERE module_id = $1 AND version = $2;

-- name: InstallVersionByID :one
SELECT * FROM marketplace_versions WHERE module_id = $1 AND id = $2;

-- name: InstallVersionNewest :one
-- The newest version that is neither yanked nor a prerelease.
SELECT * FROM marketplace_versions
WHERE module_id = $1 AND NOT yanked AND prerelease = ''
ORDER BY major DESC, minor DESC, patch DESC
LIMIT 1;

-- name: InstallVersionList :many
-- A module's versions, newest first, for the version pickers.
SELECT id, version, yanked, prerelease, capabilities FROM marketplace_versions
WHERE module_id = $1
ORDER BY major DESC, minor DESC, patch DESC, prerelease = '' DESC, prerelease DESC;

-- name: InstallPurchaseActive :one
-- Whether the community has paid for the module and the purchase is in force.
SELECT EXISTS (
    SELECT 1 FROM marketplace_purchases
    WHERE community_id = $1 AND module_id = $2 AND status IN ('active', 'past_due', 'canceled') AND (expires_at IS NULL OR expires_at > now())
);

-- name: InstallInsert :one
INSERT INTO marketplace_installs (community_id, module_id, version_id, granted, config, secrets_sealed, command_prefix, installed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (community_id, module_id) DO NOTHING
RETURNING id;

-- name: InstallGetForUpdate :one
-- An install by its module's slug, locked until the change commits.
SELECT i.* FROM marketplace_installs i JOIN marketplace_modules m ON m.id = i.module_id
WHERE i.community_id = $1 AND m.slug = $2
FOR UPDATE OF i;

-- name: InstallUpdate :exec
UPDATE marketplace_installs
SET version_id = $3, granted = $4, config = $5, secrets_sealed = $6, pending_version_id = $7, updated_at = now()
WHERE community_id = $1 AND id = $2;

-- name: InstallDelete :execrows
DELETE FROM marketplace_installs WHERE community_id = $1 AND id = $2;

-- name: InstallModuleCountAdd :exec
-- Keeps marketplace_modules.active_installs current with each install and uninstall.
UPDATE marketplace_modules SET active_installs = greatest(active_installs + sqlc.arg(delta)::int, 0) WHERE id = sqlc.arg(id);

-- name: InstallListByCommunity :many
-- A community's installs with their module, running and pending versions,
-- and whether a paid module's purchase is in force.
SELECT i.id, i.community_id, i.module_id, i.version_id, i.granted, i.config, (i.secrets_sealed IS NOT NULL)::boolean AS has_secrets,
    i.command_prefix, i.pending_version_id, i.created_at, i.updated_at,
    m.slug, m.name AS module_name, m.price_kind, m.listed,
    v.version, v.manifest, v.capabilities, v.yanked, v.yanked_reason,
    coalesce(pv.version, '')::text AS pending_version, coalesce(pv.capabilities, '{}')::text[] AS pending_capabilities,
    (m.price_kind <> 'free' AND NOT EXISTS (
        SELECT 1 FROM marketplace_purchases p
        WHERE p.community_id = i.community_id AND p.module_id = i.module_id AND p.status IN ('active', 'past_due', 'canceled')
          AND (p.expires_at IS NULL OR p.expires_at > now())))::boolean AS lapsed
FROM marketplace_installs i
JOIN marketplace_modules m ON m.id = i.module_id
JOIN marketplace_versions v ON v.id = i.version_id
LEFT JOIN marketplace_versions pv ON pv.id = i.pending_version_id
WHERE i.community_id = $1
ORDER BY m.name;
