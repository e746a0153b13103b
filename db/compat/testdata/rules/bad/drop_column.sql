-- +goose Up
-- want: drops a column
ALTER TABLE commands DROP COLUMN response;

-- +goose Down
ALTER TABLE commands ADD COLUMN response text NOT NULL DEFAULT '';
