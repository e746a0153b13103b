-- Usage analytics of marketplace modules from the router's execution log
-- (marketplace/usage.go). Each query reads the log through the partial index
-- on (module_version_id, created_at) and returns one row per UTC day that
-- had executions plus a total row (is_total), by GROUPING SETS in one scan.
-- Runs are executions that reached the module (ok, refused by the module,
-- error); denied and rate-limited calls never ran it.

-- name: MarketplaceUsageVersions :many
SELECT id, version FROM marketplace_versions
WHERE module_id = $1 AND (sqlc.arg(version)::text = '' OR version = sqlc.arg(version)::text)
ORDER BY major, minor, patch, prerelease;

-- name: MarketplaceUsageDaily :many
SELECT
    GROUPING((e.created_at AT TIME ZONE 'UTC')::date) = 1 AS is_total,
    COALESCE((e.created_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01')::date AS day,
    count(*) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error'))::bigint AS runs,
    count(*) FILTER (WHERE e.outcome = 'error')::bigint AS errors,
    count(*) FILTER (WHERE cardinality(e.refused) > 0)::bigint AS refused,
    -- p50 and p95 from one sort of the group's durations.
    COALESCE(percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY e.duration_us) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error')),
        ARRAY[0, 0])::float8[] AS latency_us,
    count(DISTINCT e.community_id) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error'))::bigint AS communities
FROM command_executions e
WHERE e.module_version_id = ANY(sqlc.arg(version_ids)::bigint[])
  AND e.created_at >= sqlc.arg(since)
GROUP BY GROUPING SETS (((e.created_at AT TIME ZONE 'UTC')::date), ());

-- name: MarketplaceUsageInstall :one
-- The community's install of a module: a community admin's usage view is
-- limited to it.
SELECT id FROM marketplace_installs WHERE community_id = $1 AND module_id = $2;

-- name: MarketplaceUsageDailyInCommunity :many
SELECT
    GROUPING((e.created_at AT TIME ZONE 'UTC')::date) = 1 AS is_total,
    COALESCE((e.created_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01')::date AS day,
    count(*) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error'))::bigint AS runs,
    count(*) FILTER (WHERE e.outcome = 'error')::bigint AS errors,
    count(*) FILTER (WHERE cardinality(e.refused) > 0)::bigint AS refused,
    -- p50 and p95 from one sort of the group's durations.
    COALESCE(percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY e.duration_us) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error')),
        ARRAY[0, 0])::float8[] AS latency_us,
    count(DISTINCT e.community_id) FILTER (WHERE e.outcome IN ('ok', 'refused', 'error'))::bigint AS communities
FROM command_executions e
WHERE e.community_id = sqlc.arg(community_id)
  AND e.module_version_id = ANY(sqlc.arg(version_ids)::bigint[])
  AND e.created_at >= sqlc.arg(since)
GROUP BY GROUPING SETS (((e.created_at AT TIME ZONE 'UTC')::date), ());
