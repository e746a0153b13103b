-- +goose Up
-- Moving in from another bot (issue 16): imports with what they will do and
-- did, timers, named counters, and balances waiting for their viewer.

-- One import: a parsed upload or connection, its preview, and once applied
-- its progress and result. bundle is the parsed source minus the viewers'
-- balances (those are import_points rows); choices are the manager's
-- answers to conflicts and to the currency question.
CREATE TABLE imports (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    source        text NOT NULL CHECK (source IN ('nightbot', 'streamelements', 'streamlabs', 'firebot', 'phantombot')),
    state         text NOT NULL DEFAULT 'previewed' CHECK (state IN ('previewed', 'applying', 'applied', 'failed', 'undone')),
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    file_names    text[] NOT NULL DEFAULT '{}',
    bundle        jsonb NOT NULL,
    choices       jsonb NOT NULL DEFAULT '{}',
    report        jsonb NOT NULL DEFAULT '{}',
    points_total  integer NOT NULL DEFAULT 0,   -- import_points rows
    points_done   integer NOT NULL DEFAULT 0,   -- applied, in seq order (the resume cursor)
    items_done    boolean NOT NULL DEFAULT false, -- commands, timers, quotes, counters, filters written
    error         text NOT NULL DEFAULT '' CHECK (length(error) <= 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    applied_at    timestamptz,
    undone_at     timestamptz,
    UNIQUE (id, community_id)
);
CREATE INDEX imports_community_idx ON imports (community_id, created_at DESC);

-- A viewer's balance (and hours) in an import, in file order. account_id is
-- the platform account once resolved (Twitch: Helix id by login); empty
-- while unresolved, when the balance waits in pending_points.
CREATE TABLE import_points (
    import_id    bigint NOT NULL,
    community_id bigint NOT NULL,
    seq          integer NOT NULL,
    platform     text NOT NULL DEFAULT 'twitch',
    login        text NOT NULL CHECK (length(login) <= 100),
    account_id   text NOT NULL DEFAULT '' CHECK (length(account_id) <= 100),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    points       bigint NOT NULL,
    seconds      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (import_id, seq),
    FOREIGN KEY (import_id, community_id) REFERENCES imports (id, community_id) ON DELETE CASCADE
);

-- Balances (and watch time) imported for a login no account is known by
-- yet: bound to the account the first time that login chats or links.
CREATE TABLE pending_points (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL,
    login        text NOT NULL CHECK (login = lower(login) AND length(login) BETWEEN 1 AND 100),
    import_id    bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    points       bigint NOT NULL,
    seconds      bigint NOT NULL DEFAULT 0,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, platform, login, import_id)
);
CREATE INDEX pending_points_login_idx ON pending_points (platform, login);

-- What an import created, so that undo removes exactly that.
ALTER TABLE commands ADD COLUMN import_id bigint REFERENCES imports (id) ON DELETE SET NULL;
ALTER TABLE quotes ADD COLUMN import_id bigint REFERENCES imports (id) ON DELETE SET NULL,
    ADD COLUMN game text NOT NULL DEFAULT '' CHECK (length(game) <= 100);
ALTER TABLE moderation_rules ADD COLUMN import_id bigint REFERENCES imports (id) ON DELETE SET NULL;
ALTER TABLE points_ledger ADD COLUMN import_id bigint;
CREATE INDEX points_ledger_import_idx ON points_ledger (import_id) WHERE import_id IS NOT NULL;

-- Named counters: {counter:name} in a reply adds one and shows it,
-- {getcounter:name} shows it.
CREATE TABLE counters (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,32}$'),
    value        bigint NOT NULL DEFAULT 0,
    import_id    bigint REFERENCES imports (id) ON DELETE SET NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, name)
);

-- Timers: a message posted every interval in one linked channel, when at
-- least min_lines chat lines were seen there since the last one, and
-- (optionally) only while the stream is live. Fired like workflow
-- schedules: claimed with SKIP LOCKED, one tick row per fire time.
CREATE TABLE timers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    message          text NOT NULL CHECK (length(message) BETWEEN 1 AND 500),
    platform         text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    server           text NOT NULL CHECK (length(server) BETWEEN 1 AND 100),
    channel          text NOT NULL DEFAULT '' CHECK (length(channel) <= 100),
    interval_minutes integer NOT NULL CHECK (interval_minutes BETWEEN 1 AND 1440),
    min_lines        integer NOT NULL DEFAULT 0 CHECK (min_lines BETWEEN 0 AND 10000),
    only_live        boolean NOT NULL DEFAULT false,
    enabled          boolean NOT NULL DEFAULT true,
    lines_since      bigint NOT NULL DEFAULT 0,
    next_fire_at     timestamptz,
    last_fired_at    timestamptz,
    last_outcome     text NOT NULL DEFAULT '' CHECK (last_outcome IN ('', 'posted', 'skipped_lines', 'skipped_offline', 'skipped_late', 'failed')),
    last_outcome_at  timestamptz,
    last_error       text NOT NULL DEFAULT '' CHECK (length(last_error) <= 500),
    import_id        bigint REFERENCES imports (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);
CREATE INDEX timers_due_idx ON timers (next_fire_at) WHERE enabled;

CREATE TABLE timer_ticks (
    timer_id     bigint NOT NULL REFERENCES timers (id) ON DELETE CASCADE,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    fire_at      timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('posted', 'skipped_lines', 'skipped_offline', 'skipped_late', 'failed')),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (timer_id, fire_at)
);

-- Whether a linked channel's stream is live, from stream online/offline
-- events.
CREATE TABLE stream_status (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform     text NOT NULL,
    server       text NOT NULL,
    live         boolean NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, platform, server)
);

-- +goose Down
DROP TABLE stream_status;
DROP TABLE timer_ticks;
DROP TABLE timers;
DROP TABLE counters;
DROP INDEX points_ledger_import_idx;
ALTER TABLE points_ledger DROP COLUMN import_id;
ALTER TABLE moderation_rules DROP COLUMN import_id;
ALTER TABLE quotes DROP COLUMN import_id, DROP COLUMN game;
ALTER TABLE commands DROP COLUMN import_id;
DROP TABLE pending_points;
DROP TABLE import_points;
DROP TABLE imports;
