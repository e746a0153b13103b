-- +goose Up
-- The module marketplace: modules with immutable semver versions, installs
-- into communities (whose commands are rows of commands marked with the
-- install), reviews, purchases and subscriptions, and the execution log's
-- link to the module version that ran.

-- Global admins grant the developer flag; developers publish modules.
ALTER TABLE users ADD COLUMN is_developer boolean NOT NULL DEFAULT false;

CREATE TABLE marketplace_modules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    summary         text NOT NULL CHECK (length(summary) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    -- NULL for core modules (Waddle's built-ins) and after the author's account is deleted.
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    author_name     text NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
    homepage        text NOT NULL DEFAULT '' CHECK (length(homepage) <= 500),
    -- A path from the top, e.g. {Games,Chat games}.
    category        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(category) <= 3),
    labels          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(labels) <= 10),
    core            boolean NOT NULL DEFAULT false,
    price_kind      text NOT NULL DEFAULT 'free' CHECK (price_kind IN ('free', 'one_time', 'monthly')),
    price_cents     integer NOT NULL DEFAULT 0 CHECK (price_cents BETWEEN 0 AND 100000000),
    currency        text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
    CHECK ((price_kind = 'free') = (price_cents = 0)),
    -- The HMAC key Waddle signs webhook calls with (sealed); shown to the author once.
    signing_secret_sealed bytea,
    -- Global admins unlist a module: it leaves the catalogue; installs keep running.
    listed          boolean NOT NULL DEFAULT true,
    unlisted_reason text NOT NULL DEFAULT '',
    -- Kept current by the statements that change installs and reviews.
    active_installs integer NOT NULL DEFAULT 0 CHECK (active_installs >= 0),
    rating_count    integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum      integer NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '') || ' ' || replace(slug, '-', ' ')), 'A') ||
        setweight(to_tsvector('english', coalesce(summary, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'C')) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX marketplace_modules_search_idx ON marketplace_modules USING gin (search);
CREATE INDEX marketplace_modules_labels_idx ON marketplace_modules USING gin (labels);
CREATE INDEX marketplace_modules_category_idx ON marketplace_modules USING gin (category);
CREATE INDEX marketplace_modules_author_idx ON marketplace_modules (author_id);

CREATE TABLE marketplace_versions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    module_id    bigint NOT NULL REFERENCES marketplace_modules (id) ON DELETE CASCADE,
    version      text NOT NULL CHECK (length(version) BETWEEN 5 AND 64),
    -- For ordering: semver precedence without build metadata.
    major        integer NOT NULL CHECK (major >= 0),
    minor        integer NOT NULL CHECK (minor >= 0),
    patch        integer NOT NULL CHECK (patch >= 0),
    prerelease   text NOT NULL DEFAULT '',
    -- The version's manifest as validated (commands, events, executor, config schema, capabilities, changelog).
    manifest     jsonb NOT NULL,
    capabilities text[] NOT NULL DEFAULT '{}',
    changelog    text NOT NULL DEFAULT '' CHECK (length(changelog) <= 10000),
    -- OpenWhisk "user:key" or Lambda access keys of the author (sealed).
    credentials_sealed bytea,
    -- A yanked version cannot be newly installed; communities running it keep it and are told.
    yanked       boolean NOT NULL DEFAULT false,
    yanked_reason text NOT NULL DEFAULT '',
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (module_id, version)
);

-- A published version is immutable: only yanking may change it.
-- +goose StatementBegin
CREATE FUNCTION marketplace_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.module_id <> OLD.module_id OR NEW.version <> OLD.version OR NEW.manifest <> OLD.manifest
       OR NEW.capabilities <> OLD.capabilities OR NEW.changelog <> OLD.changelog
       OR NEW.credentials_sealed IS DISTINCT FROM OLD.credentials_sealed THEN
        RAISE EXCEPTION 'a published module version is immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER marketplace_versions_immutable BEFORE UPDATE ON marketplace_versions
    FOR EACH ROW EXECUTE FUNCTION marketplace_version_immutable();

CREATE TABLE marketplace_installs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id       bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    module_id          bigint NOT NULL REFERENCES marketplace_modules (id) ON DELETE RESTRICT,
    version_id         bigint NOT NULL REFERENCES marketplace_versions (id) ON DELETE RESTRICT,
    -- The capabilities an admin accepted; the router refuses the rest.
    granted            text[] NOT NULL DEFAULT '{}',
    -- Values of the config schema's non-secret fields; secret ones sealed as one JSON object.
    config             jsonb NOT NULL DEFAULT '{}',
    secrets_sealed     bytea,
    -- Prefix the admin chose to install under when names clashed ('' for none).
    command_prefix     text NOT NULL DEFAULT '' CHECK (command_prefix ~ '^[a-z0-9_]{0,16}$'),
    -- An upgrade that asks for new capabilities waits here for an admin.
    pending_version_id bigint REFERENCES marketplace_versions (id) ON DELETE SET NULL,
    installed_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, module_id),
    UNIQUE (community_id, id)
);
CREATE INDEX marketplace_installs_module_idx ON marketplace_installs (module_id);
CREATE INDEX marketplace_installs_version_idx ON marketplace_installs (version_id);

-- A command of an installed module: it runs the install's version, and only
-- installing, upgrading or uninstalling changes it.
ALTER TABLE commands ADD COLUMN install_id bigint REFERENCES marketplace_installs (id) ON DELETE CASCADE;
CREATE INDEX commands_install_idx ON commands (install_id) WHERE install_id IS NOT NULL;

-- Which module version ran a command, and what of its answer was refused for
-- want of a capability (capability names).
ALTER TABLE command_executions ADD COLUMN module_version_id bigint;
ALTER TABLE command_executions ADD COLUMN refused text[] NOT NULL DEFAULT '{}';
CREATE INDEX command_executions_module_version_idx ON command_executions (module_version_id, created_at)
    WHERE module_version_id IS NOT NULL;

CREATE TABLE marketplace_reviews (
    module_id    bigint NOT NULL REFERENCES marketplace_modules (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stars        smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    body         text NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    answer       text NOT NULL DEFAULT '' CHECK (length(answer) <= 2000),
    answered_at  timestamptz,
    hidden       boolean NOT NULL DEFAULT false,
    hidden_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (module_id, user_id)
);
CREATE INDEX marketplace_reviews_recent_idx ON marketplace_reviews (module_id, created_at DESC);

-- What a community bought: a one-time purchase (no expiry) or a monthly
-- subscription (active until expires_at, extended by each paid invoice).
CREATE TABLE marketplace_purchases (
    community_id          bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    module_id             bigint NOT NULL REFERENCES marketplace_modules (id) ON DELETE CASCADE,
    kind                  text NOT NULL CHECK (kind IN ('one_time', 'monthly')),
    status                text NOT NULL CHECK (status IN ('pending', 'active', 'past_due', 'canceled', 'expired')),
    expires_at            timestamptz,
    provider              text NOT NULL,
    checkout_session      text NOT NULL DEFAULT '',
    provider_customer     text NOT NULL DEFAULT '',
    provider_subscription text NOT NULL DEFAULT '',
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, module_id)
);
CREATE INDEX marketplace_purchases_subscription_idx ON marketplace_purchases (provider, provider_subscription)
    WHERE provider_subscription <> '';
CREATE INDEX marketplace_purchases_checkout_idx ON marketplace_purchases (provider, checkout_session)
    WHERE checkout_session <> '';

-- Payment provider events already applied: a redelivered webhook does nothing twice.
CREATE TABLE marketplace_payment_events (
    provider    text NOT NULL,
    event_id    text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- +goose Down
DROP TABLE marketplace_payment_events;
DROP TABLE marketplace_purchases;
DROP TABLE marketplace_reviews;
DROP INDEX command_executions_module_version_idx;
ALTER TABLE command_executions DROP COLUMN refused;
ALTER TABLE command_executions DROP COLUMN module_version_id;
DROP INDEX commands_install_idx;
ALTER TABLE commands DROP COLUMN install_id;
DROP TABLE marketplace_installs;
DROP TABLE marketplace_versions;
DROP FUNCTION marketplace_version_immutable();
DROP TABLE marketplace_modules;
ALTER TABLE users DROP COLUMN is_developer;
