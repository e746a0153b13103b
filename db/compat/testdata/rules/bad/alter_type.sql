-- +goose Up
-- want: changes a column's type
ALTER TABLE commands ALTER COLUMN name TYPE varchar(50);
