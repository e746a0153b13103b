-- +goose Up
-- What the last check of a stored user token found. needs_reconnect is why
-- the platform no longer accepts the token (revoked, refresh refused); the bot
-- stops using it until its owner connects the account again, which stores a
-- new token and clears it. missing_scopes are the scopes the bot asks for that
-- the token lacks.
ALTER TABLE platform_tokens
    ADD COLUMN needs_reconnect text NOT NULL DEFAULT '' CHECK (length(needs_reconnect) <= 500),
    ADD COLUMN missing_scopes  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN validated_at    timestamptz;

-- The accounts a bot account sent private messages to (Twitch whispers),
-- with the first send of the current day-long window: Twitch allows whispers
-- to at most 40 different people a day from one account.
CREATE TABLE bot_recipients (
    platform  text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    sender    text NOT NULL CHECK (length(sender) BETWEEN 1 AND 100),
    recipient text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 100),
    first_at  timestamptz NOT NULL,
    PRIMARY KEY (platform, sender, recipient)
);

CREATE INDEX bot_recipients_window ON bot_recipients (platform, sender, first_at);

-- +goose Down
DROP TABLE bot_recipients;
ALTER TABLE platform_tokens DROP COLUMN validated_at, DROP COLUMN missing_scopes, DROP COLUMN needs_reconnect;
