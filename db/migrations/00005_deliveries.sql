-- +goose Up
-- Webhook deliveries from the platforms (Twitch EventSub, Slack Events API):
-- committed before the platform is answered 2xx, unique per message id so a
-- redelivery is acknowledged and ignored, and processed from here by a job.
CREATE TABLE platform_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform     text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    message_id   text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 200),
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    error        text NOT NULL DEFAULT '',
    UNIQUE (platform, message_id)
);
CREATE INDEX platform_deliveries_received_idx ON platform_deliveries (received_at);

-- Notices from the platforms that a subscription was revoked, shown in the hub.
CREATE TABLE platform_revocations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform     text NOT NULL,
    subscription text NOT NULL,
    kind         text NOT NULL,
    reason       text NOT NULL,
    server       text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE platform_revocations;
DROP TABLE platform_deliveries;
