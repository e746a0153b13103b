-- +goose Up
-- contract:
-- want: drops a table
DROP TABLE quotes;
