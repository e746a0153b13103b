-- +goose Up
-- When an applying import last made progress: an import that has not moved
-- for 30 seconds lost its worker (a killed process leaves River's job
-- "running" for an hour), and any instance queues it again.
ALTER TABLE imports ADD COLUMN heartbeat_at timestamptz;

-- +goose Down
ALTER TABLE imports DROP COLUMN heartbeat_at;
