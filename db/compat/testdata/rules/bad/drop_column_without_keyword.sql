-- +goose Up
CREATE INDEX commands_name_idx ON commands (name);
-- want: drops a column
ALTER TABLE IF EXISTS commands
    DROP response;
