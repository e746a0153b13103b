-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION sayings_touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    -- a body's comment may say DROP TABLE
    NEW.text := replace(NEW.text, 'DROP TABLE', 'rename; alter');
    RETURN NEW;
END
$body$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sayings_touch();
