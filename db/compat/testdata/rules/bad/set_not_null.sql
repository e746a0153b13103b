-- +goose Up
UPDATE communities SET description = '' WHERE description IS NULL;
-- want: sets NOT NULL without setting a default
ALTER TABLE communities ALTER COLUMN description SET NOT NULL;
