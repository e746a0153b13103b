-- +goose Up
-- Workflows: a draft definition being edited, every published version kept,
-- durable runs with a trace row per node execution, and variables that
-- outlive a run (per workflow or per community).
CREATE TABLE workflows (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
    version      integer NOT NULL DEFAULT 0, -- the latest published version; 0: never published
    draft        jsonb NOT NULL,
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);

CREATE TABLE workflow_versions (
    workflow_id  bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    definition   jsonb NOT NULL,
    published_by bigint REFERENCES users (id) ON DELETE SET NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

-- A run: its trigger, the version it runs, and its state (pending node
-- activations, outputs so far, run variables) as of its last checkpoint.
CREATE TABLE workflow_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    workflow_id    bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version        integer NOT NULL,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
    trigger_kind   text NOT NULL CHECK (trigger_kind IN ('command', 'event', 'webhook', 'schedule', 'manual', 'replay', 'retry')),
    trigger_node   text NOT NULL DEFAULT '',
    trigger        jsonb NOT NULL DEFAULT '{}',
    state          jsonb,
    error          text NOT NULL DEFAULT '',
    failed_node    text NOT NULL DEFAULT '',
    node_count     integer NOT NULL DEFAULT 0,
    replay_of      bigint REFERENCES workflow_runs (id) ON DELETE SET NULL,
    started_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    wait_until     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    busy_us        bigint NOT NULL DEFAULT 0 -- time spent running, delays excluded
);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (community_id, workflow_id, id DESC);
CREATE INDEX workflow_runs_community_idx ON workflow_runs (community_id, id DESC);
CREATE INDEX workflow_runs_active_idx ON workflow_runs (workflow_id) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX workflow_runs_finished_idx ON workflow_runs (finished_at) WHERE finished_at IS NOT NULL;

-- One row per node execution.
CREATE TABLE workflow_node_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    run_id       bigint NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    seq          integer NOT NULL,
    node_id      text NOT NULL,
    node_type    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped', 'waiting')),
    input        jsonb,
    output       jsonb,
    error        text NOT NULL DEFAULT '',
    notes        text[] NOT NULL DEFAULT '{}',
    ports        text[] NOT NULL DEFAULT '{}',
    repeated     boolean NOT NULL DEFAULT false, -- run again after a crash
    started_at   timestamptz NOT NULL,
    duration_us  bigint NOT NULL
);
CREATE INDEX workflow_node_runs_run_idx ON workflow_node_runs (run_id, seq);

CREATE TABLE workflow_variables (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    workflow_id  bigint NOT NULL DEFAULT 0, -- 0: the community's
    name         text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    value        jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, workflow_id, name)
);

-- +goose Down
DROP TABLE workflow_variables;
DROP TABLE workflow_node_runs;
DROP TABLE workflow_runs;
DROP TABLE workflow_versions;
DROP TABLE workflows;
