-- +goose Up
-- want: drops a default
ALTER TABLE commands ALTER COLUMN permission DROP DEFAULT;
