-- name: RiverJobCountByQueueState :many
-- The job queue's depth for the metrics, by queue and state: the jobs not
-- yet finished (telemetry.unfinished names the same states). Finished jobs
-- stay in the table for a day and are left out, so each scrape reads River's
-- fetching index over the waiting work instead of the whole table. River's
-- table holds no community column; only its queue names and states are read.
SELECT queue::text AS queue, state::text AS state, count(*)::bigint AS jobs
FROM river_job
WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
GROUP BY queue, state;
