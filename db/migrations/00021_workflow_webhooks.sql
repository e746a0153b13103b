-- +goose Up
-- A workflow's webhooks: a random URL token (stored hashed) that starts
-- runs from one trigger_webhook node, a signing secret (stored sealed),
-- an optional address allowlist and a per-minute limit.
CREATE TABLE workflow_webhooks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id      bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    workflow_id       bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    node_id           text NOT NULL CHECK (length(node_id) BETWEEN 1 AND 100),
    token_hash        bytea NOT NULL UNIQUE, -- sha256 of the URL token
    token_hint        text NOT NULL, -- the token's last 4 characters
    secret_sealed     bytea NOT NULL,
    allow             text[] NOT NULL DEFAULT '{}', -- addresses and CIDRs; empty: any
    rate_per_minute   integer NOT NULL DEFAULT 60 CHECK (rate_per_minute BETWEEN 1 AND 1000000),
    trigger_count     bigint NOT NULL DEFAULT 0,
    last_triggered_at timestamptz,
    created_by        bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_webhooks_workflow_idx ON workflow_webhooks (community_id, workflow_id, id);

-- +goose Down
DROP TABLE workflow_webhooks;
