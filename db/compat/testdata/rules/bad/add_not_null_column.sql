-- +goose Up
-- want: adds a NOT NULL column without a default
ALTER TABLE communities ADD COLUMN region text NOT NULL CHECK (region IN ('eu', 'us'));
