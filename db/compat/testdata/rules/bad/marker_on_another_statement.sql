-- +goose Up
-- contract: the quotes module moved to sayings in v1.3; v1.4 reads only sayings
DROP TABLE quotes;
-- want: drops a column
ALTER TABLE commands DROP COLUMN response;
