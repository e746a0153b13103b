-- name: WorkflowInsert :one
INSERT INTO workflows (community_id, name, description, draft, created_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: WorkflowGet :one
SELECT * FROM workflows WHERE community_id = $1 AND id = $2;

-- name: WorkflowGetForUpdate :one
SELECT * FROM workflows WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: WorkflowList :many
SELECT * FROM workflows WHERE community_id = $1 ORDER BY name, id;

-- name: WorkflowUpdate :one
UPDATE workflows SET name = $3, description = $4, draft = $5, updated_at = now()
WHERE community_id = $1 AND id = $2
RETURNING *;

-- name: WorkflowSetStatus :one
UPDATE workflows SET status = $3, version = $4, updated_at = now()
WHERE community_id = $1 AND id = $2
RETURNING *;

-- name: WorkflowDelete :execrows
DELETE FROM workflows WHERE community_id = $1 AND id = $2;

-- name: WorkflowCountPublished :one
SELECT count(*) FROM workflows WHERE community_id = $1 AND status = 'published';

-- name: WorkflowVersionInsert :exec
INSERT INTO workflow_versions (workflow_id, community_id, version, definition, published_by)
VALUES ($1, $2, $3, $4, $5);

-- name: WorkflowVersionGet :one
SELECT * FROM workflow_versions WHERE community_id = $1 AND workflow_id = $2 AND version = $3;

-- name: WorkflowVersionList :many
SELECT workflow_id, version, published_by, published_at FROM workflow_versions
WHERE community_id = $1 AND workflow_id = $2 ORDER BY version DESC;

-- The published definitions of every community, for the trigger index.
-- name: WorkflowPublishedAll :many
SELECT w.id, w.community_id, w.name, v.version, v.definition
FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
WHERE w.status = 'published';

-- name: WorkflowPublishedOne :one
SELECT w.id, w.community_id, w.name, v.version, v.definition
FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
WHERE w.community_id = $1 AND w.id = $2 AND w.status = 'published';

-- name: WorkflowRunIDs :many
SELECT nextval(pg_get_serial_sequence('workflow_runs', 'id'))::bigint FROM generate_series(1, @n::int);

-- Runs are inserted many at once; a run whose dedup key is taken is not
-- inserted again (RETURNING lists only the new ones).
-- name: WorkflowRunInsertMany :many
INSERT INTO workflow_runs (id, community_id, workflow_id, version, trigger_kind, trigger_node, trigger, dedup_key, replay_of, started_by)
SELECT unnest(@ids::bigint[]), unnest(@community_ids::bigint[]), unnest(@workflow_ids::bigint[]), unnest(@versions::int[]),
       unnest(@kinds::text[]), unnest(@nodes::text[]), unnest(@triggers::jsonb[]), unnest(@dedup_keys::text[]),
       nullif(unnest(@replay_ofs::bigint[]), 0), nullif(unnest(@started_bys::bigint[]), 0)
ON CONFLICT (workflow_id, dedup_key) WHERE dedup_key <> '' DO NOTHING
RETURNING id;

-- name: WorkflowRunByDedup :one
SELECT id FROM workflow_runs WHERE workflow_id = $1 AND dedup_key = $2;

-- Runs finished without a checkpoint (nothing they did touched the world)
-- are stored once, whole, many at a time.
-- name: WorkflowRunCopyDone :copyfrom
INSERT INTO workflow_runs (id, community_id, workflow_id, version, status, trigger_kind, trigger_node, trigger, state, error,
    failed_node, node_count, started_at, finished_at, busy_us, claims, dedup_key, started_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18);

-- name: WorkflowRunRequeue :execrows
UPDATE workflow_runs SET state = @state, node_count = @node_count, busy_us = @busy_us, status = 'queued', owner = 0
WHERE id = @id AND owner = @owner AND status = 'running';

-- name: WorkflowRunRetry :one
UPDATE workflow_runs SET status = 'queued', error = '', failed_node = '', finished_at = NULL, owner = 0
WHERE community_id = @community_id AND id = @id AND status = 'failed'
RETURNING *;

-- name: WorkflowRunGet :one
SELECT * FROM workflow_runs WHERE community_id = $1 AND id = $2;

-- name: WorkflowRunByID :one
SELECT * FROM workflow_runs WHERE id = $1;

-- A run is taken by one instance: a new one, its own, or one whose instance died.
-- name: WorkflowRunClaim :one
UPDATE workflow_runs SET owner = @owner, status = 'running', started_at = coalesce(started_at, now()), wait_until = NULL,
    claims = claims + 1
WHERE id = @id AND status IN ('queued', 'running', 'waiting')
  AND (owner = 0 OR owner = @owner OR NOT waddle_instance_alive(owner))
RETURNING *;

-- name: WorkflowRunClaimMany :many
UPDATE workflow_runs SET owner = @owner, status = 'running', started_at = coalesce(started_at, now()), wait_until = NULL,
    claims = claims + 1
WHERE id = ANY(@ids::bigint[]) AND status IN ('queued', 'running', 'waiting')
  AND (owner = 0 OR owner = @owner OR NOT waddle_instance_alive(owner))
  AND (wait_until IS NULL OR wait_until <= now() + interval '1 second')
RETURNING *;

-- name: WorkflowRunCheckpoint :execrows
UPDATE workflow_runs SET state = @state, node_count = @node_count, busy_us = @busy_us
WHERE id = @id AND owner = @owner AND status = 'running';

-- name: WorkflowRunWait :execrows
UPDATE workflow_runs SET state = @state, node_count = @node_count, busy_us = @busy_us, status = 'waiting', wait_until = @wait_until, owner = 0
WHERE id = @id AND owner = @owner AND status = 'running';

-- name: WorkflowRunFinish :batchexec
UPDATE workflow_runs SET state = @state, node_count = @node_count, busy_us = @busy_us, status = @status,
    error = @error, failed_node = @failed_node, finished_at = now(), owner = 0
WHERE id = @id AND owner = @owner AND status = 'running';

-- name: WorkflowRunCancel :execrows
UPDATE workflow_runs SET status = 'cancelled', finished_at = now(), error = 'cancelled by ' || @by::text
WHERE community_id = @community_id AND id = @id AND status IN ('queued', 'running', 'waiting');

-- name: WorkflowRunStatus :one
SELECT status FROM workflow_runs WHERE id = $1;

-- name: WorkflowRunList :many
SELECT id, community_id, workflow_id, version, status, trigger_kind, trigger_node, error, failed_node, node_count,
       replay_of, created_at, started_at, finished_at, busy_us
FROM workflow_runs
WHERE community_id = @community_id
  AND (@workflow_id::bigint = 0 OR workflow_id = @workflow_id)
  AND (@status::text = '' OR status = @status)
  AND (@trigger_kind::text = '' OR trigger_kind = @trigger_kind)
  AND created_at >= @since::timestamptz
  AND (@before_id::bigint = 0 OR id < @before_id)
ORDER BY id DESC
LIMIT @lim;

-- name: WorkflowRunActiveCount :one
SELECT count(*) FROM workflow_runs WHERE workflow_id = $1 AND status IN ('queued', 'running', 'waiting');

-- Runs whose instance died while running them.
-- name: WorkflowRunOrphans :many
SELECT id FROM workflow_runs
WHERE status = 'running' AND owner <> 0 AND owner <> @owner AND NOT waddle_instance_alive(owner)
ORDER BY id LIMIT 500;

-- name: WorkflowNodeRunList :many
SELECT * FROM workflow_node_runs WHERE community_id = $1 AND run_id = $2 ORDER BY seq, id;

-- name: WorkflowNodeRunCopy :copyfrom
INSERT INTO workflow_node_runs (community_id, run_id, seq, node_id, node_type, status, input, output, error, notes, ports, repeated, started_at, duration_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14);

-- name: WorkflowRunSweep :execrows
DELETE FROM workflow_runs WHERE id IN (
    SELECT r.id FROM workflow_runs r WHERE r.finished_at < @before::timestamptz ORDER BY r.finished_at LIMIT 5000);

-- name: WorkflowRunCounts :many
SELECT status, count(*)::bigint AS runs FROM workflow_runs
WHERE community_id = $1 AND workflow_id = $2 GROUP BY status;

-- name: WorkflowNodeRunCount :one
SELECT count(*)::bigint FROM workflow_node_runs n JOIN workflow_runs r ON r.id = n.run_id
WHERE r.community_id = $1 AND r.workflow_id = $2;
