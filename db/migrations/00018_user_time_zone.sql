-- +goose Up
-- The time zone the hub shows a person's dates and times in: an IANA name
-- such as Europe/Berlin, checked by the application (time.LoadLocation);
-- '' until the person or their browser chooses one, shown as UTC.
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT '' CHECK (length(time_zone) <= 64);

-- +goose Down
ALTER TABLE users DROP COLUMN time_zone;
