-- The overview page of a community: its getting-started state and its
-- activity. Every query filters by the community.

-- name: OverviewSetup :one
-- What a new community has set up. twitch_bot_token is the instance's Twitch
-- bot account (shared by every community, connected by an admin); a Slack
-- workspace's bot token comes with its install, so it is per link.
SELECT
    (SELECT count(*) FROM platform_entities e WHERE e.community_id = sqlc.arg(community_id) AND e.platform = 'twitch')::bigint AS twitch_links,
    (SELECT count(*) FROM platform_entities e WHERE e.community_id = sqlc.arg(community_id) AND e.platform = 'discord')::bigint AS discord_links,
    (SELECT count(*) FROM platform_entities e WHERE e.community_id = sqlc.arg(community_id) AND e.platform = 'slack')::bigint AS slack_links,
    EXISTS (SELECT 1 FROM platform_tokens t WHERE t.platform = 'twitch' AND t.subject = 'bot' AND t.needs_reconnect = '')::boolean AS twitch_bot_token,
    (SELECT count(*) FROM platform_tokens t JOIN platform_entities e ON e.id = t.entity_id
        WHERE e.community_id = sqlc.arg(community_id) AND e.platform = 'slack' AND t.needs_reconnect = '')::bigint AS slack_tokens,
    (SELECT count(*) FROM commands c WHERE c.community_id = sqlc.arg(community_id))::bigint AS commands,
    (SELECT count(*) FROM overlay_sources o WHERE o.community_id = sqlc.arg(community_id))::bigint AS overlays;

-- name: OverviewSimulated :one
-- Whether a command ran for real from the hub's simulator, whose users are
-- logged as sim:<name> (dry runs are not logged), among the community's
-- first 10,000 executions: the look stays cheap on a busy log, and a
-- community that ran that many commands has tried them.
SELECT EXISTS (
    SELECT 1 FROM (
        SELECT x.user_id FROM command_executions x
        WHERE x.community_id = sqlc.arg(community_id)
        ORDER BY x.id
        LIMIT 10000
    ) first
    WHERE first.user_id LIKE 'sim:%'
)::boolean AS simulated;

-- name: OverviewRuns :many
-- Commands run in the week before now, in one pass: per hour (rows with a
-- bucket, the start of an hour counted back from now, and by_command false)
-- and per command (by_command, with its runs in the last 24 hours).
SELECT coalesce(date_bin('1 hour', x.created_at, sqlc.arg(now)::timestamptz), sqlc.arg(now)::timestamptz)::timestamptz AS bucket,
    coalesce(x.command, '')::text AS command,
    (GROUPING(x.command) = 0)::boolean AS by_command,
    count(*) FILTER (WHERE x.created_at > sqlc.arg(now)::timestamptz - interval '24 hours')::bigint AS day_runs,
    count(*)::bigint AS runs
FROM command_executions x
WHERE x.community_id = sqlc.arg(community_id)
  AND x.created_at > sqlc.arg(now)::timestamptz - interval '7 days' AND x.created_at <= sqlc.arg(now)::timestamptz
GROUP BY GROUPING SETS ((date_bin('1 hour', x.created_at, sqlc.arg(now)::timestamptz)), (x.command));

-- name: OverviewPointsByHour :many
-- Point awards of the week before now, by hour and by the kind of event that
-- earned them. The router writes the event kind as the reason, except for
-- cheers ("cheer of N bits") and voice ("N minutes in voice"); points given
-- with !give ("given by NAME") are no event: their kind is empty.
SELECT date_bin('1 hour', l.created_at, sqlc.arg(now)::timestamptz)::timestamptz AS bucket,
    (CASE WHEN l.reason LIKE 'cheer of %' THEN 'cheer'
          WHEN l.reason LIKE '% minutes in voice' THEN 'voice_leave'
          WHEN l.reason LIKE 'given by %' THEN ''
          ELSE l.reason END)::text AS kind,
    count(*)::bigint AS events,
    coalesce(sum(l.delta) FILTER (WHERE l.delta > 0), 0)::bigint AS given
FROM points_ledger l
WHERE l.community_id = sqlc.arg(community_id)
  AND l.created_at > sqlc.arg(now)::timestamptz - interval '7 days' AND l.created_at <= sqlc.arg(now)::timestamptz
GROUP BY 1, 2;
