-- +goose Up
-- A published workflow's trigger_command is a row of commands like any
-- other (so !help lists it and its name cannot be taken twice), marked with
-- the workflow that owns it: it runs the workflow, not a module or a text,
-- and only publishing, drafting, archiving or deleting the workflow changes it.
ALTER TABLE commands ADD COLUMN workflow_id bigint REFERENCES workflows (id) ON DELETE CASCADE;
CREATE INDEX commands_workflow_idx ON commands (workflow_id) WHERE workflow_id IS NOT NULL;

-- +goose Down
DROP INDEX commands_workflow_idx;
ALTER TABLE commands DROP COLUMN workflow_id;
