-- +goose Up
-- want: drops a table
DROP TABLE IF EXISTS quotes;
