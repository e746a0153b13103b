-- +goose Up
-- What an administrative action changed: the state before and after (JSON,
-- secrets replaced by "(set)" or "(changed)"), and who acted when it was not a
-- hub account (a chat user changing commands from chat: "twitch user alice (id 123)").
ALTER TABLE audit_log
    ADD COLUMN before     jsonb,
    ADD COLUMN after      jsonb,
    ADD COLUMN actor_name text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log
    DROP COLUMN actor_name,
    DROP COLUMN after,
    DROP COLUMN before;
