-- +goose Up
-- Identity: one person across Twitch, Discord and Slack. Every platform
-- account the router meets belongs to exactly one identity (its own until it
-- is linked); points, watch time, labels and reputation belong to the
-- identity, so a linked person has one balance and one leaderboard row per
-- community.

CREATE SEQUENCE identity_ids;

CREATE TABLE identities (
    id               bigint PRIMARY KEY DEFAULT nextval('identity_ids'),
    -- The hub account of the person, once they linked a platform account from
    -- the account page: then they are this identity in every community.
    user_id          bigint UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    display_name     text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    primary_platform text NOT NULL DEFAULT '' CHECK (primary_platform IN ('', 'twitch', 'discord', 'slack')),
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- A platform account and the identity it belongs to. A new account gets a
-- new identity number from the sequence in the same statement that records
-- it (INSERT … ON CONFLICT), and the trigger below creates that identity; the
-- reference is checked at commit.
CREATE TABLE identity_accounts (
    platform    text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    account_id  text NOT NULL CHECK (length(account_id) BETWEEN 1 AND 100),
    identity_id bigint NOT NULL DEFAULT nextval('identity_ids')
                REFERENCES identities (id) DEFERRABLE INITIALLY DEFERRED,
    user_name   text NOT NULL DEFAULT '' CHECK (length(user_name) <= 100),
    -- When and how the account joined its identity; NULL while it is alone.
    linked_at   timestamptz,
    linked_by   text NOT NULL DEFAULT '' CHECK (linked_by IN ('', 'chat', 'oauth')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id),
    -- One account per platform in an identity: unlink before linking another.
    UNIQUE (identity_id, platform)
);
CREATE INDEX identity_accounts_name_idx ON identity_accounts (lower(user_name) text_pattern_ops);

-- +goose StatementBegin
CREATE FUNCTION identity_accounts_new_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO identities (id, display_name, primary_platform)
    VALUES (NEW.identity_id, NEW.user_name, NEW.platform)
    ON CONFLICT (id) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER identity_accounts_new_identity AFTER INSERT ON identity_accounts
FOR EACH ROW EXECUTE FUNCTION identity_accounts_new_identity();

-- A person as one community knows them: first and last seen there, and a
-- reputation the router lowers on moderation and moderators adjust.
CREATE TABLE community_people (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    identity_id  bigint NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    reputation   integer NOT NULL DEFAULT 0 CHECK (reputation BETWEEN -1000000 AND 1000000),
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, identity_id)
);
CREATE INDEX community_people_seen_idx ON community_people (community_id, last_seen DESC);

-- Every change of reputation and every moderation action, with why: the
-- person's moderation history.
CREATE TABLE reputation_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL,
    identity_id  bigint NOT NULL,
    action       text NOT NULL CHECK (action IN ('warn', 'timeout', 'ban', 'delete', 'adjust', 'merge')),
    delta        integer NOT NULL CHECK (delta BETWEEN -1000000 AND 1000000),
    reason       text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    -- The account moderated, or empty for an adjustment made in the hub.
    platform     text NOT NULL DEFAULT '',
    account_id   text NOT NULL DEFAULT '',
    -- The hub user who adjusted it; NULL for the router.
    actor_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, identity_id) REFERENCES community_people (community_id, identity_id) ON DELETE CASCADE
);
CREATE INDEX reputation_events_person_idx ON reputation_events (community_id, identity_id, id DESC);

-- A verification code sent to one account so that it can join the identity
-- of another. Only a keyed hash of the code is stored.
CREATE TABLE identity_link_codes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    from_platform text NOT NULL,
    from_account  text NOT NULL,
    to_platform   text NOT NULL,
    to_account    text NOT NULL,
    code_hash     bytea NOT NULL,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identity_link_codes_to_idx ON identity_link_codes (to_platform, to_account) WHERE used_at IS NULL;

-- Every account that has points, a ledger entry or watch time gets its own
-- identity, and those rows are keyed by it from now on.
INSERT INTO identity_accounts (platform, account_id, user_name)
SELECT DISTINCT ON (platform, user_id) platform, user_id, left(user_name, 100)
FROM (
    SELECT platform, user_id, user_name, updated_at AS at FROM points_balances
    UNION ALL SELECT platform, user_id, user_name, updated_at FROM watch_time
    UNION ALL SELECT platform, user_id, user_name, created_at FROM points_ledger
) a
WHERE platform IN ('twitch', 'discord', 'slack') AND length(user_id) BETWEEN 1 AND 100
ORDER BY platform, user_id, at DESC;

DELETE FROM points_balances WHERE NOT EXISTS (SELECT 1 FROM identity_accounts a WHERE a.platform = points_balances.platform AND a.account_id = points_balances.user_id);
DELETE FROM points_ledger WHERE NOT EXISTS (SELECT 1 FROM identity_accounts a WHERE a.platform = points_ledger.platform AND a.account_id = points_ledger.user_id);
DELETE FROM watch_time WHERE NOT EXISTS (SELECT 1 FROM identity_accounts a WHERE a.platform = watch_time.platform AND a.account_id = watch_time.user_id);

ALTER TABLE points_balances ADD COLUMN identity_id bigint;
UPDATE points_balances b SET identity_id = a.identity_id FROM identity_accounts a WHERE a.platform = b.platform AND a.account_id = b.user_id;
ALTER TABLE points_balances ALTER COLUMN identity_id SET NOT NULL,
    DROP CONSTRAINT points_balances_pkey,
    ADD PRIMARY KEY (community_id, identity_id);

ALTER TABLE points_ledger ADD COLUMN identity_id bigint;
UPDATE points_ledger l SET identity_id = a.identity_id FROM identity_accounts a WHERE a.platform = l.platform AND a.account_id = l.user_id;
ALTER TABLE points_ledger ALTER COLUMN identity_id SET NOT NULL;
DROP INDEX points_ledger_user_idx;
CREATE INDEX points_ledger_identity_idx ON points_ledger (community_id, identity_id, id DESC);

ALTER TABLE watch_time ADD COLUMN identity_id bigint;
UPDATE watch_time w SET identity_id = a.identity_id FROM identity_accounts a WHERE a.platform = w.platform AND a.account_id = w.user_id;
ALTER TABLE watch_time ALTER COLUMN identity_id SET NOT NULL,
    DROP CONSTRAINT watch_time_pkey,
    ADD PRIMARY KEY (community_id, identity_id);

INSERT INTO community_people (community_id, identity_id, first_seen, last_seen)
SELECT community_id, identity_id, min(at), max(at) FROM (
    SELECT community_id, identity_id, updated_at AS at FROM points_balances
    UNION ALL SELECT community_id, identity_id, updated_at FROM watch_time
) p GROUP BY community_id, identity_id;

-- +goose Down
ALTER TABLE watch_time DROP CONSTRAINT watch_time_pkey, ADD PRIMARY KEY (community_id, platform, user_id), DROP COLUMN identity_id;
DROP INDEX points_ledger_identity_idx;
CREATE INDEX points_ledger_user_idx ON points_ledger (community_id, platform, user_id, id DESC);
ALTER TABLE points_ledger DROP COLUMN identity_id;
ALTER TABLE points_balances DROP CONSTRAINT points_balances_pkey, ADD PRIMARY KEY (community_id, platform, user_id), DROP COLUMN identity_id;
DROP TABLE identity_link_codes;
DROP TABLE reputation_events;
DROP TABLE community_people;
DROP TABLE identity_accounts;
DROP FUNCTION identity_accounts_new_identity();
DROP TABLE identities;
DROP SEQUENCE identity_ids;
