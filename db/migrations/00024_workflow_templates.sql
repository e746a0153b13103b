-- +goose Up
-- Templates a community saved from its own workflows; the built-in ones
-- live in the code (workflow/templates.go).
CREATE TABLE workflow_templates (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    definition   jsonb NOT NULL,
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);

-- +goose Down
DROP TABLE workflow_templates;
