-- +goose Up
-- want: adds a NOT NULL column without a default
ALTER TABLE communities ADD COLUMN motto text NOT NULL DEFAULT '',
    ADD region text NOT NULL;
