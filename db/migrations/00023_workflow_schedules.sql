-- +goose Up
-- Schedules: one row per trigger_schedule node of a published workflow
-- (written when it is published, editable through the API until the next
-- publish), and one row per tick that came due, whatever became of it. The
-- tick's primary key makes each tick happen once however many instances run
-- the scheduler.
CREATE TABLE workflow_schedules (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    workflow_id    bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    node_id        text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('cron', 'interval', 'once')),
    cron           text NOT NULL DEFAULT '' CHECK (length(cron) <= 100),
    timezone       text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) <= 64),
    every_seconds  integer NOT NULL DEFAULT 0,
    max_count      integer NOT NULL DEFAULT 0, -- interval: stop after this many runs; 0: never
    at             timestamptz,                -- once
    grace_seconds  integer NOT NULL DEFAULT 900 CHECK (grace_seconds BETWEEN 0 AND 86400),
    max_concurrent integer NOT NULL DEFAULT 1 CHECK (max_concurrent BETWEEN 1 AND 100),
    enabled        boolean NOT NULL DEFAULT true,
    overridden     boolean NOT NULL DEFAULT false, -- changed through the API since the workflow was published
    next_fire_at   timestamptz,                    -- NULL: nothing more to fire
    fired_count    bigint NOT NULL DEFAULT 0,      -- runs started
    skipped_count  bigint NOT NULL DEFAULT 0,      -- ticks skipped (late or busy), recorded one by one or not
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, node_id)
);
CREATE INDEX workflow_schedules_due_idx ON workflow_schedules (next_fire_at) WHERE enabled;
CREATE INDEX workflow_schedules_community_idx ON workflow_schedules (community_id, workflow_id);

CREATE TABLE workflow_schedule_ticks (
    schedule_id  bigint NOT NULL REFERENCES workflow_schedules (id) ON DELETE CASCADE,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    fire_at      timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('started', 'skipped_late', 'skipped_busy', 'coalesced')),
    run_id       bigint REFERENCES workflow_runs (id) ON DELETE SET NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, fire_at)
);

-- +goose Down
DROP TABLE workflow_schedule_ticks;
DROP TABLE workflow_schedules;
