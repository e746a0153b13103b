-- name: WorkflowScheduleListForUpdate :many
SELECT * FROM workflow_schedules WHERE community_id = $1 AND workflow_id = $2 ORDER BY id FOR UPDATE;

-- name: WorkflowScheduleList :many
SELECT * FROM workflow_schedules WHERE community_id = $1 AND workflow_id = $2 ORDER BY node_id, id;

-- name: WorkflowScheduleGet :one
SELECT * FROM workflow_schedules WHERE community_id = $1 AND id = $2;

-- name: WorkflowScheduleGetForUpdate :one
SELECT * FROM workflow_schedules WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- Publishing writes each trigger_schedule node's settings into its row.
-- name: WorkflowScheduleUpsert :one
INSERT INTO workflow_schedules (community_id, workflow_id, node_id, kind, cron, timezone, every_seconds, max_count, at,
    grace_seconds, max_concurrent, enabled, next_fire_at, fired_count)
VALUES (@community_id, @workflow_id, @node_id, @kind, @cron, @timezone, @every_seconds, @max_count, @at,
    @grace_seconds, @max_concurrent, @enabled, @next_fire_at, @fired_count)
ON CONFLICT (workflow_id, node_id) DO UPDATE SET
    kind = excluded.kind, cron = excluded.cron, timezone = excluded.timezone, every_seconds = excluded.every_seconds,
    max_count = excluded.max_count, at = excluded.at, grace_seconds = excluded.grace_seconds,
    max_concurrent = excluded.max_concurrent, enabled = excluded.enabled, next_fire_at = excluded.next_fire_at,
    fired_count = excluded.fired_count, overridden = false, updated_at = now()
WHERE workflow_schedules.community_id = excluded.community_id
RETURNING *;

-- name: WorkflowScheduleInsert :one
INSERT INTO workflow_schedules (community_id, workflow_id, node_id, kind, cron, timezone, every_seconds, max_count, at,
    grace_seconds, max_concurrent, enabled, next_fire_at, overridden)
VALUES (@community_id, @workflow_id, @node_id, @kind, @cron, @timezone, @every_seconds, @max_count, @at,
    @grace_seconds, @max_concurrent, @enabled, @next_fire_at, true)
RETURNING *;

-- name: WorkflowScheduleUpdate :one
UPDATE workflow_schedules SET kind = @kind, cron = @cron, timezone = @timezone, every_seconds = @every_seconds,
    max_count = @max_count, at = @at, grace_seconds = @grace_seconds, max_concurrent = @max_concurrent,
    enabled = @enabled, next_fire_at = @next_fire_at, fired_count = @fired_count, overridden = true, updated_at = now()
WHERE community_id = @community_id AND id = @id
RETURNING *;

-- name: WorkflowScheduleDelete :execrows
DELETE FROM workflow_schedules WHERE community_id = $1 AND id = $2;

-- Rows of nodes the published definition no longer has.
-- name: WorkflowScheduleDeleteMissing :execrows
DELETE FROM workflow_schedules
WHERE community_id = @community_id AND workflow_id = @workflow_id AND NOT (node_id = ANY (@keep::text[]));

-- name: WorkflowScheduleDisableAll :execrows
UPDATE workflow_schedules SET enabled = false, updated_at = now()
WHERE community_id = $1 AND workflow_id = $2 AND enabled;

-- The schedules due at @now of published workflows, locked for this
-- instance: another instance skips them and takes the next. The workflow
-- row is key-share locked in the same step (the runs' foreign key needs
-- it), skipping one being published, so the two never wait on each other.
-- name: WorkflowScheduleDue :many
SELECT sqlc.embed(s), w.version
FROM workflow_schedules s JOIN workflows w ON w.id = s.workflow_id AND w.community_id = s.community_id
WHERE s.enabled AND s.next_fire_at <= @now AND w.status = 'published'
ORDER BY s.next_fire_at
LIMIT @max
FOR UPDATE OF s SKIP LOCKED FOR KEY SHARE OF w SKIP LOCKED;

-- name: WorkflowScheduleAdvance :exec
UPDATE workflow_schedules SET next_fire_at = @next_fire_at, enabled = @enabled, fired_count = @fired_count,
    skipped_count = skipped_count + @skipped::bigint, updated_at = now()
WHERE id = @id;

-- name: WorkflowScheduleTickInsertMany :execrows
INSERT INTO workflow_schedule_ticks (schedule_id, community_id, fire_at, outcome, run_id)
SELECT @schedule_id, @community_id, unnest(@fire_ats::timestamptz[]), unnest(@outcomes::text[]), nullif(unnest(@run_ids::bigint[]), 0)
ON CONFLICT (schedule_id, fire_at) DO NOTHING;

-- Keeps a schedule's latest ticks only.
-- name: WorkflowScheduleTickTrim :exec
DELETE FROM workflow_schedule_ticks d
WHERE d.schedule_id = @schedule_id AND d.fire_at < (
    SELECT t.fire_at FROM workflow_schedule_ticks t WHERE t.schedule_id = @schedule_id
    ORDER BY t.fire_at DESC OFFSET @keep::int LIMIT 1);

-- name: WorkflowScheduleTickList :many
SELECT * FROM workflow_schedule_ticks WHERE community_id = $1 AND schedule_id = $2
ORDER BY fire_at DESC LIMIT $3;
