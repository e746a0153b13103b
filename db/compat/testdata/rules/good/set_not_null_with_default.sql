-- +goose Up
UPDATE communities SET description = '' WHERE description IS NULL;
ALTER TABLE communities ALTER COLUMN description SET DEFAULT '',
    ALTER COLUMN description SET NOT NULL;
