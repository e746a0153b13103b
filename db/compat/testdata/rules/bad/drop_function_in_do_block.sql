-- +goose Up
-- +goose StatementBegin
-- want: drops a function
DO $$
BEGIN
    RAISE NOTICE 'cleaning up; bye';
    DROP FUNCTION marketplace_version_immutable();
END
$$;
-- +goose StatementEnd
