-- name: WorkflowAccessGet :one
-- A user's grants on one workflow of the community, from the rows for their
-- role and for them (false where none); no row: no such workflow here.
SELECT w.id,
       coalesce(bool_or(p.can_read), false)::boolean    AS can_read,
       coalesce(bool_or(p.can_write), false)::boolean   AS can_write,
       coalesce(bool_or(p.can_execute), false)::boolean AS can_execute
FROM workflows w
LEFT JOIN workflow_permissions p
       ON p.workflow_id = w.id AND p.community_id = w.community_id
      AND ((p.subject_kind = 'role' AND p.subject = @role::text)
        OR (p.subject_kind = 'user' AND p.subject = (@user_id::bigint)::text))
WHERE w.community_id = @community_id AND w.id = @workflow_id
GROUP BY w.id;

-- name: WorkflowPermissionLockWorkflow :one
-- The workflow whose permissions change, locked until the change commits.
SELECT id, name FROM workflows WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: WorkflowPermissionList :many
SELECT * FROM workflow_permissions
WHERE community_id = $1 AND workflow_id = $2
ORDER BY subject_kind, CASE subject WHEN 'admin' THEN '0' WHEN 'moderator' THEN '1' WHEN 'member' THEN '2' ELSE subject END;

-- name: WorkflowPermissionDeleteAll :exec
DELETE FROM workflow_permissions WHERE community_id = $1 AND workflow_id = $2;

-- name: WorkflowPermissionInsert :exec
INSERT INTO workflow_permissions (workflow_id, community_id, subject_kind, subject, can_read, can_write, can_execute)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: LicenceSet :exec
INSERT INTO workflow_licences (community_id, key, added_by) VALUES ($1, $2, $3)
ON CONFLICT (community_id) DO UPDATE SET key = EXCLUDED.key, added_by = EXCLUDED.added_by, added_at = now();

-- name: LicenceGet :one
SELECT * FROM workflow_licences WHERE community_id = $1;

-- name: LicenceDelete :one
DELETE FROM workflow_licences WHERE community_id = $1 RETURNING *;
