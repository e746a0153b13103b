-- name: MarketplaceModuleInsert :one
INSERT INTO marketplace_modules (slug, name, summary, description, author_id, author_name, homepage, category, labels,
    core, price_kind, price_cents, currency, signing_secret_sealed, latest_version)
VALUES (@slug, @name, @summary, @description, @author_id, @author_name, @homepage, @category, @labels,
    @core, @price_kind, @price_cents, @currency, @signing_secret_sealed, @latest_version)
RETURNING id;

-- name: MarketplaceModuleUpdateListing :exec
-- A later version's manifest updates the listing; the signing secret is set
-- only when the module had none.
UPDATE marketplace_modules
SET name = @name, summary = @summary, description = @description, homepage = @homepage, category = @category,
    labels = @labels, price_kind = @price_kind, price_cents = @price_cents, currency = @currency,
    signing_secret_sealed = coalesce(signing_secret_sealed, sqlc.narg(signing_secret_sealed)::bytea),
    updated_at = now()
WHERE id = @id;

-- name: MarketplaceModuleSetLatest :exec
-- The highest version that is not yanked, releases before pre-releases.
UPDATE marketplace_modules m
SET latest_version = coalesce((
    SELECT v.version FROM marketplace_versions v
    WHERE v.module_id = m.id AND NOT v.yanked
    ORDER BY (v.prerelease = '') DESC, v.major DESC, v.minor DESC, v.patch DESC, v.prerelease DESC
    LIMIT 1), '')
WHERE m.id = @id;

-- name: MarketplaceListingBySlug :one
SELECT * FROM marketplace_listings WHERE slug = @slug;

-- name: MarketplaceListingByID :one
SELECT * FROM marketplace_listings WHERE id = @id;

-- name: MarketplaceModuleLockBySlug :one
-- Publishing and moderation lock the module so versions are numbered in turn.
SELECT id, author_id, core, listed, signing_secret_sealed FROM marketplace_modules WHERE slug = @slug FOR UPDATE;

-- name: MarketplaceListingByAuthor :many
SELECT * FROM marketplace_listings WHERE author_id = @author_id ORDER BY name, id;

-- name: MarketplaceModuleSetListed :one
UPDATE marketplace_modules SET listed = @listed, unlisted_reason = @reason, updated_at = now()
WHERE slug = @slug AND NOT core
RETURNING id;

-- name: MarketplaceVersionInsert :one
INSERT INTO marketplace_versions (module_id, version, major, minor, patch, prerelease, manifest, capabilities, changelog,
    credentials_sealed)
VALUES (@module_id, @version, @major, @minor, @patch, @prerelease, @manifest, @capabilities, @changelog, @credentials_sealed)
ON CONFLICT (module_id, version) DO NOTHING
RETURNING *;

-- name: MarketplaceVersionListByModule :many
-- Newest first in semver order.
SELECT * FROM marketplace_versions WHERE module_id = @module_id
ORDER BY major DESC, minor DESC, patch DESC, (prerelease = '') DESC, prerelease DESC;

-- name: MarketplaceVersionGet :one
SELECT * FROM marketplace_versions WHERE module_id = @module_id AND version = @version;

-- name: MarketplaceVersionGetByID :one
SELECT * FROM marketplace_versions WHERE id = @id;

-- name: MarketplaceVersionYank :one
UPDATE marketplace_versions SET yanked = true, yanked_reason = @reason
WHERE module_id = @module_id AND version = @version
RETURNING *;

-- name: MarketplaceCoreUpsert :one
-- A core module: Waddle's built-in, listed free, its listing kept as the
-- built-in declares it.
INSERT INTO marketplace_modules (slug, name, summary, description, author_name, category, labels, core, latest_version)
VALUES (@slug, @name, @summary, @description, 'Waddle', @category, @labels, true, '1.0.0')
ON CONFLICT (slug) DO UPDATE
SET name = excluded.name, summary = excluded.summary, description = excluded.description,
    category = excluded.category, labels = excluded.labels
WHERE marketplace_modules.core
RETURNING id;

-- name: UserSetDeveloper :one
UPDATE users SET is_developer = @developer WHERE id = @id RETURNING email;

-- name: UserIsDeveloper :one
SELECT is_developer FROM users WHERE id = @id;

-- name: UserListDevelopers :many
SELECT id, email, display_name FROM users WHERE is_developer ORDER BY email;
