-- +goose Up
-- want: renames
ALTER TABLE quotes RENAME TO sayings;
