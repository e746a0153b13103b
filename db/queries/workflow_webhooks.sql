-- name: WorkflowWebhookInsert :one
INSERT INTO workflow_webhooks (community_id, workflow_id, node_id, token_hash, token_hint, secret_sealed, allow, rate_per_minute, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: WorkflowWebhookList :many
SELECT * FROM workflow_webhooks WHERE community_id = $1 AND workflow_id = $2 ORDER BY id;

-- name: WorkflowWebhookCount :one
SELECT count(*) FROM workflow_webhooks WHERE community_id = $1 AND workflow_id = $2;

-- name: WorkflowWebhookDelete :one
DELETE FROM workflow_webhooks WHERE community_id = $1 AND workflow_id = $2 AND id = $3
RETURNING *;

-- The public receiving URL carries only the token: the one lookup that
-- does not start from a community.
-- name: WorkflowWebhookByToken :one
SELECT * FROM workflow_webhooks WHERE token_hash = $1;

-- Deliveries are counted in memory and added here in batches.
-- name: WorkflowWebhookCountAdd :exec
UPDATE workflow_webhooks w SET trigger_count = w.trigger_count + d.n,
    last_triggered_at = greatest(w.last_triggered_at, d.at)
FROM (SELECT unnest(@community_ids::bigint[]) AS community_id, unnest(@ids::bigint[]) AS id,
             unnest(@counts::bigint[]) AS n, unnest(@ats::timestamptz[]) AS at) d
WHERE w.community_id = d.community_id AND w.id = d.id;
