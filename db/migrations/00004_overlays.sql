-- +goose Up
-- Browser sources for OBS: each has a secret URL (only its hash is stored)
-- and a short history of updates so a reconnecting page can replay what it missed.
CREATE TABLE overlay_sources (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('alerts', 'ticker', 'text', 'media', 'leaderboard', 'chat')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE,
    settings     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX overlay_sources_community_idx ON overlay_sources (community_id, kind);

CREATE TABLE overlay_updates (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    bigint NOT NULL REFERENCES overlay_sources (id) ON DELETE CASCADE,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX overlay_updates_source_idx ON overlay_updates (source_id, id);
CREATE INDEX overlay_updates_created_idx ON overlay_updates (created_at);

-- +goose Down
DROP TABLE overlay_updates;
DROP TABLE overlay_sources;
