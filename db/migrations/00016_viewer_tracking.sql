-- +goose Up
-- Viewer tracking: while a community's Twitch channel is live, the viewers
-- present in its chat earn points for the time they watch. Off by default.
CREATE TABLE viewer_tracking (
    community_id     bigint PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    enabled          boolean NOT NULL DEFAULT false,
    interval_minutes integer NOT NULL DEFAULT 5 CHECK (interval_minutes BETWEEN 1 AND 60),
    points           integer NOT NULL DEFAULT 1 CHECK (points BETWEEN 1 AND 1000),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The time each viewer was seen watching, for the leaderboard.
CREATE TABLE watch_time (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL,
    user_id      text NOT NULL,
    user_name    text NOT NULL DEFAULT '',
    seconds      bigint NOT NULL DEFAULT 0 CHECK (seconds >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, platform, user_id)
);
CREATE INDEX watch_time_leaderboard_idx ON watch_time (community_id, seconds DESC);

-- One row per awarded period of a channel: a period is awarded once, however
-- often its tick is tried (a retry after a crash, another instance after a
-- lease hand-over), and periods of one channel never overlap.
CREATE TABLE watch_ticks (
    platform     text NOT NULL,
    server       text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    viewers      integer NOT NULL DEFAULT 0,
    points       integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, server, starts_at)
);
CREATE INDEX watch_ticks_community_idx ON watch_ticks (community_id);

-- +goose Down
DROP TABLE watch_ticks;
DROP TABLE watch_time;
DROP TABLE viewer_tracking;
