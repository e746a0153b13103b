-- +goose Up
-- The router: platform entities linked to communities, commands, moderation
-- rules, quotes, activity points, the execution log and event de-duplication.

ALTER TABLE communities
    ADD COLUMN command_prefix text NOT NULL DEFAULT '!' CHECK (command_prefix IN ('!', '?', '~', '$', '%', '&', '.', ',', '+', '=', '>')),
    ADD COLUMN slow_down_notice boolean NOT NULL DEFAULT true;

-- A Twitch channel, Discord guild or Slack workspace belongs to one community.
CREATE TABLE platform_entities (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    server       text NOT NULL CHECK (length(server) BETWEEN 1 AND 100),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform, server)
);
CREATE INDEX platform_entities_community_idx ON platform_entities (community_id);

CREATE TABLE commands (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id            bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name                    text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,32}$'),
    -- A text command answers with response; a module command runs modules.
    response                text NOT NULL DEFAULT '' CHECK (length(response) <= 500),
    modules                 text[] NOT NULL DEFAULT '{}',
    parallel                boolean NOT NULL DEFAULT false,
    permission              text NOT NULL DEFAULT 'everyone' CHECK (permission IN ('everyone', 'subscriber', 'vip', 'moderator', 'broadcaster')),
    user_cooldown_seconds   integer NOT NULL DEFAULT 0 CHECK (user_cooldown_seconds BETWEEN 0 AND 86400),
    global_cooldown_seconds integer NOT NULL DEFAULT 0 CHECK (global_cooldown_seconds BETWEEN 0 AND 86400),
    enabled                 boolean NOT NULL DEFAULT true,
    platforms               text[] NOT NULL DEFAULT '{twitch,discord,slack}',
    counter                 bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);

-- Aliases share the command namespace of a community.
CREATE TABLE command_aliases (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    alias        text NOT NULL CHECK (alias ~ '^[a-z0-9_]{1,32}$'),
    command_id   bigint NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, alias)
);
CREATE INDEX command_aliases_command_idx ON command_aliases (command_id);

CREATE TABLE moderation_rules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    priority         integer NOT NULL DEFAULT 100,
    match_kind       text NOT NULL CHECK (match_kind IN ('exact', 'contains', 'word', 'glob', 'regex')),
    pattern          text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 500),
    action           text NOT NULL CHECK (action IN ('reply', 'warn', 'delete', 'timeout', 'ban')),
    response         text NOT NULL DEFAULT '' CHECK (length(response) <= 500),
    timeout_seconds  integer NOT NULL DEFAULT 0 CHECK (timeout_seconds BETWEEN 0 AND 1209600),
    exempt_moderators  boolean NOT NULL DEFAULT true,
    exempt_subscribers boolean NOT NULL DEFAULT false,
    enabled          boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_rules_community_idx ON moderation_rules (community_id, priority, id);

CREATE TABLE quotes (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    number       integer NOT NULL,
    text         text NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
    added_by     text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, number)
);

-- Points: the ledger is the truth; balances are kept in step in the same transaction.
CREATE TABLE points_ledger (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL,
    user_id      text NOT NULL,
    user_name    text NOT NULL DEFAULT '',
    delta        bigint NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX points_ledger_user_idx ON points_ledger (community_id, platform, user_id, id DESC);

CREATE TABLE points_balances (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL,
    user_id      text NOT NULL,
    user_name    text NOT NULL DEFAULT '',
    balance      bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, platform, user_id)
);
CREATE INDEX points_balances_leaderboard_idx ON points_balances (community_id, balance DESC);

-- Per-community overrides of the default points per event (key: platform.kind).
CREATE TABLE points_values (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    key          text NOT NULL,
    points       integer NOT NULL CHECK (points BETWEEN -100000 AND 100000),
    PRIMARY KEY (community_id, key)
);

-- Events already handled, with the answer given, for 24 hours of de-duplication.
CREATE TABLE processed_events (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, event_id)
);
CREATE INDEX processed_events_created_idx ON processed_events (created_at);

CREATE TABLE command_executions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    command      text NOT NULL,
    platform     text NOT NULL,
    user_id      text NOT NULL,
    user_name    text NOT NULL DEFAULT '',
    args         text NOT NULL DEFAULT '',
    executor     text NOT NULL,
    outcome      text NOT NULL,
    duration_us  bigint NOT NULL,
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE INDEX command_executions_community_idx ON command_executions (community_id, id DESC);

-- +goose Down
DROP TABLE command_executions;
DROP TABLE processed_events;
DROP TABLE points_values;
DROP TABLE points_balances;
DROP TABLE points_ledger;
DROP TABLE quotes;
DROP TABLE moderation_rules;
DROP TABLE command_aliases;
DROP TABLE commands;
DROP TABLE platform_entities;
ALTER TABLE communities DROP COLUMN slow_down_notice, DROP COLUMN command_prefix;
