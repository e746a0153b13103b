-- +goose Up
-- The currency of each imported balance: a source with several currencies
-- (Firebot, StreamElements) brings one row per viewer and currency, and the
-- manager picks the one that becomes the community's points when applying.
ALTER TABLE import_points ADD COLUMN currency text NOT NULL DEFAULT '' CHECK (length(currency) <= 100);

-- +goose Down
ALTER TABLE import_points DROP COLUMN currency;
