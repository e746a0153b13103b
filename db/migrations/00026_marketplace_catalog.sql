-- +goose Up
-- The catalogue's reads: each module's latest published version kept on the
-- module (set when a version is published or yanked), and one listing view
-- without the search vector, shared by every query that reads a listing.
ALTER TABLE marketplace_modules ADD COLUMN latest_version text NOT NULL DEFAULT '';

CREATE VIEW marketplace_listings AS
SELECT id, slug, name, summary, description, author_id, author_name, homepage, category, labels, core,
       price_kind, price_cents, currency, listed, unlisted_reason, active_installs, rating_count, rating_sum,
       latest_version, created_at, updated_at
FROM marketplace_modules;

-- Sorting the catalogue without a query: popular, newest, rating.
CREATE INDEX marketplace_modules_popular_idx ON marketplace_modules (active_installs DESC, id) WHERE listed;
CREATE INDEX marketplace_modules_newest_idx ON marketplace_modules (created_at DESC, id) WHERE listed;

-- +goose Down
DROP INDEX marketplace_modules_newest_idx;
DROP INDEX marketplace_modules_popular_idx;
DROP VIEW marketplace_listings;
ALTER TABLE marketplace_modules DROP COLUMN latest_version;
