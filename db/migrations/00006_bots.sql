-- +goose Up
-- The platform bots: OAuth tokens sealed at rest, leases that give each Twitch
-- channel and Discord shard to one instance, and the servers a bot has been
-- added to (Discord guilds) so an admin can link them.

-- A platform token, sealed with TOKEN_ENCRYPTION_KEY. subject is the linked
-- server (a Twitch channel login, a Slack team id), or "bot" for the bot's own
-- account; a server's token goes when its link goes.
CREATE TABLE platform_tokens (
    platform       text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 100),
    entity_id      bigint REFERENCES platform_entities (id) ON DELETE CASCADE,
    access_sealed  text NOT NULL,
    refresh_sealed text NOT NULL DEFAULT '',
    scopes         text[] NOT NULL DEFAULT '{}',
    account_id     text NOT NULL DEFAULT '',
    account_login  text NOT NULL DEFAULT '',
    expires_at     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, subject)
);

-- A lease: name is held by holder (one waddle serve instance) until expires_at.
CREATE TABLE bot_leases (
    name       text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Servers a bot was added to (Discord guilds), offered for linking in the hub.
CREATE TABLE platform_available (
    platform text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    server   text NOT NULL CHECK (length(server) BETWEEN 1 AND 100),
    name     text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, server)
);

-- +goose Down
DROP TABLE platform_available;
DROP TABLE bot_leases;
DROP TABLE platform_tokens;
