-- +goose Up
-- Community modules that run outside the process (#name), through a webhook,
-- Apache OpenWhisk or AWS Lambda. Secrets are sealed with TOKEN_ENCRYPTION_KEY.
CREATE TABLE community_modules (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id       bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,32}$'),
    kind               text NOT NULL CHECK (kind IN ('webhook', 'openwhisk', 'lambda')),
    url                text NOT NULL DEFAULT '' CHECK (length(url) <= 2000),
    secret_sealed      bytea,
    namespace          text NOT NULL DEFAULT '',
    action             text NOT NULL DEFAULT '',
    function           text NOT NULL DEFAULT '',
    region             text NOT NULL DEFAULT '',
    access_key_id      text NOT NULL DEFAULT '',
    secret_key_sealed  bytea,
    timeout_ms         integer NOT NULL DEFAULT 3000 CHECK (timeout_ms BETWEEN 100 AND 30000),
    permission         text NOT NULL DEFAULT 'everyone' CHECK (permission IN ('everyone', 'subscriber', 'vip', 'moderator', 'broadcaster')),
    enabled            boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);

-- +goose Down
DROP TABLE community_modules;
