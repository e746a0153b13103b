-- +goose Up
-- Which of a community's commands become Discord slash commands, where it
-- chose: "always" puts a command, alias or built-in among them before the
-- most used ones, "never" leaves it out. A name without a row is ranked by
-- use. Discord allows 100 slash commands per server.
CREATE TABLE slash_choices (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,32}$'),
    choice       text NOT NULL CHECK (choice IN ('always', 'never')),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, name)
);

-- Commands ranked by use over the last 30 days read only this index.
CREATE INDEX command_executions_usage_idx ON command_executions (community_id, created_at) INCLUDE (command);

-- +goose Down
DROP INDEX command_executions_usage_idx;
DROP TABLE slash_choices;
