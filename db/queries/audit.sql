-- name: AuditInsert :one
INSERT INTO audit_log (community_id, actor_id, actor_email, actor_name, action, target, ip, before, after)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: AuditGet :one
SELECT * FROM audit_log WHERE id = $1;

-- name: AuditListByCommunity :many
-- One page of a community's audit trail, newest first, optionally filtered.
SELECT * FROM audit_log
WHERE community_id = sqlc.arg(community_id)
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action))
  AND (sqlc.narg(actor)::text IS NULL OR actor_email ILIKE '%' || sqlc.narg(actor) || '%' OR actor_name ILIKE '%' || sqlc.narg(actor) || '%')
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until))
  AND (sqlc.narg(before_id)::bigint IS NULL OR id < sqlc.narg(before_id))
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: AuditListAll :many
-- The whole audit trail for global admins, with the same filters and community names.
SELECT sqlc.embed(a), coalesce(c.name, '')::text AS community_name
FROM audit_log a
LEFT JOIN communities c ON c.id = a.community_id
WHERE (sqlc.narg(action)::text IS NULL OR a.action = sqlc.narg(action))
  AND (sqlc.narg(actor)::text IS NULL OR a.actor_email ILIKE '%' || sqlc.narg(actor) || '%' OR a.actor_name ILIKE '%' || sqlc.narg(actor) || '%')
  AND (sqlc.narg(since)::timestamptz IS NULL OR a.created_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR a.created_at < sqlc.narg(until))
  AND (sqlc.narg(before_id)::bigint IS NULL OR a.id < sqlc.narg(before_id))
ORDER BY a.id DESC
LIMIT sqlc.arg(max_rows);
