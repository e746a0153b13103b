-- name: RiverJobCountByQueueState :many
-- The job queue's depth for the metrics, by queue and state. River's table
-- holds no community column; only its queue names and states are read.
SELECT queue::text AS queue, state::text AS state, count(*)::bigint AS jobs
FROM river_job
GROUP BY queue, state;
