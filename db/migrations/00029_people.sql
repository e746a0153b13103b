-- +goose Up
-- The hub's people pages. Search by name walks the accounts in the order of
-- their lower-cased names, byte by byte (COLLATE "C"), so a prefix is one
-- index range and a page of results stops after its last row; the list
-- without a search walks a community's people newest seen first, with the
-- identity as the tie-break the cursor needs.
CREATE INDEX identity_accounts_name_c_idx ON identity_accounts ((lower(user_name) COLLATE "C"), identity_id);
CREATE INDEX community_people_recent_idx ON community_people (community_id, last_seen DESC, identity_id DESC);

-- +goose Down
DROP INDEX community_people_recent_idx;
DROP INDEX identity_accounts_name_c_idx;
