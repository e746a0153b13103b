-- +goose Up
-- want: renames
ALTER TABLE commands RENAME COLUMN response TO reply;
