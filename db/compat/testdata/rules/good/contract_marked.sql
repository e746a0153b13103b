-- +goose Up
-- contract: commands.response replaced by reply in v1.3; v1.4 no longer reads it
ALTER TABLE commands DROP COLUMN response;

-- The marker may sit inside a long statement too.
ALTER TABLE commands
    -- contract: v1.4 writes name_v2 only; v1.5 drops name
    RENAME COLUMN name TO old_name;
