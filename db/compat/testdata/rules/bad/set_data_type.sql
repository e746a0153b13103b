-- +goose Up
-- want: changes a column's type
ALTER TABLE commands ALTER name SET DATA TYPE varchar(50);
