-- name: TimerListByCommunity :many
SELECT * FROM timers WHERE community_id = $1 ORDER BY lower(name), id;

-- name: TimerGet :one
SELECT * FROM timers WHERE community_id = $1 AND id = $2;

-- name: TimerGetForUpdate :one
SELECT * FROM timers WHERE community_id = $1 AND id = $2 FOR UPDATE;

-- name: TimerInsert :one
INSERT INTO timers (community_id, name, message, platform, server, channel, interval_minutes, min_lines, only_live,
    enabled, next_fire_at)
VALUES (@community_id, @name, @message, @platform, @server, @channel, @interval_minutes, @min_lines, @only_live,
    @enabled, @next_fire_at)
RETURNING *;

-- name: TimerUpdate :one
UPDATE timers SET name = @name, message = @message, platform = @platform, server = @server, channel = @channel,
    interval_minutes = @interval_minutes, min_lines = @min_lines, only_live = @only_live, enabled = @enabled,
    next_fire_at = @next_fire_at, updated_at = now()
WHERE community_id = @community_id AND id = @id
RETURNING *;

-- name: TimerDelete :one
DELETE FROM timers WHERE community_id = $1 AND id = $2 RETURNING *;

-- The enabled timers due at @now (or never scheduled: a row an import
-- wrote), locked so that another instance skips them, with whether the
-- stream they wait for is live: a Twitch channel's own stream; for a
-- Discord or Slack channel, any of the community's streams.
-- name: TimerDue :many
SELECT sqlc.embed(t), EXISTS (
    SELECT 1 FROM stream_status s
    WHERE s.community_id = t.community_id AND s.live
      AND (t.platform <> 'twitch' OR (s.platform = 'twitch' AND s.server = t.server)))::boolean AS live
FROM timers t
WHERE t.enabled AND (t.next_fire_at IS NULL OR t.next_fire_at <= @now)
ORDER BY t.next_fire_at NULLS FIRST
LIMIT @max
FOR UPDATE OF t SKIP LOCKED;

-- Moves a claimed timer on. A post resets its line count (lines flushed
-- later count towards the next one).
-- name: TimerAdvance :exec
UPDATE timers SET next_fire_at = @next_fire_at,
    lines_since = CASE WHEN @reset_lines::boolean THEN 0 ELSE lines_since END,
    last_fired_at = CASE WHEN @outcome::text = 'posted' THEN @fired_at::timestamptz ELSE last_fired_at END,
    last_outcome = CASE WHEN @outcome::text = '' THEN last_outcome ELSE @outcome::text END,
    last_outcome_at = CASE WHEN @outcome::text = '' THEN last_outcome_at ELSE @fired_at::timestamptz END,
    last_error = CASE WHEN @outcome::text = '' THEN last_error ELSE '' END
WHERE id = @id;

-- A post that failed after its claim committed.
-- name: TimerFailed :exec
UPDATE timers SET last_outcome = 'failed', last_error = @error
WHERE id = @id AND last_outcome_at = @fired_at::timestamptz;

-- name: TimerTickInsertMany :execrows
INSERT INTO timer_ticks (timer_id, community_id, fire_at, outcome)
SELECT @timer_id, @community_id, unnest(@fire_ats::timestamptz[]), unnest(@outcomes::text[])
ON CONFLICT (timer_id, fire_at) DO NOTHING;

-- name: TimerTickFailed :exec
UPDATE timer_ticks SET outcome = 'failed' WHERE timer_id = @timer_id AND fire_at = @fire_at;

-- Keeps a timer's latest ticks only.
-- name: TimerTickTrim :exec
DELETE FROM timer_ticks d
WHERE d.timer_id = @timer_id AND d.fire_at < (
    SELECT t.fire_at FROM timer_ticks t WHERE t.timer_id = @timer_id
    ORDER BY t.fire_at DESC OFFSET @keep::int LIMIT 1);

-- name: TimerTickList :many
SELECT * FROM timer_ticks WHERE community_id = $1 AND timer_id = $2
ORDER BY fire_at DESC LIMIT $3;

-- Adds the chat lines counted since the last flush to the timers of each
-- channel (a Twitch channel has one chat: any line in it counts). Additive,
-- so several instances may flush at once.
-- name: TimerLinesAdd :execrows
UPDATE timers t SET lines_since = least(t.lines_since + v.n, 1000000000)
FROM (SELECT unnest(@community_ids::bigint[]) AS community_id, unnest(@platforms::text[]) AS platform,
        unnest(@servers::text[]) AS server, unnest(@channels::text[]) AS channel, unnest(@counts::bigint[]) AS n) v
WHERE t.community_id = v.community_id AND t.platform = v.platform AND t.server = v.server
  AND (t.channel = v.channel OR t.platform = 'twitch');

-- A stream went live or offline; a change older than the one stored is
-- ignored (events may arrive out of order).
-- name: StreamStatusSet :exec
INSERT INTO stream_status (community_id, platform, server, live, changed_at)
SELECT unnest(@community_ids::bigint[]), unnest(@platforms::text[]), unnest(@servers::text[]),
    unnest(@lives::boolean[]), unnest(@changed_ats::timestamptz[])
ON CONFLICT (community_id, platform, server) DO UPDATE SET live = excluded.live, changed_at = excluded.changed_at
WHERE stream_status.changed_at <= excluded.changed_at;

-- name: StreamStatusList :many
SELECT * FROM stream_status WHERE community_id = $1 ORDER BY platform, server;
