-- name: DeliveryInsert :one
-- Stores a delivery; a redelivery of the same message id inserts nothing and returns no row.
INSERT INTO platform_deliveries (platform, message_id, kind, payload)
VALUES ($1, $2, $3, $4)
ON CONFLICT (platform, message_id) DO NOTHING
RETURNING id;

-- name: DeliveryGet :one
SELECT * FROM platform_deliveries WHERE id = $1;

-- name: DeliveryMarkProcessed :exec
-- Marks a delivery processed and, in the same statement, replaces its payload
-- with one scrubbed of what only its processing needed (a response URL).
UPDATE platform_deliveries SET processed_at = now(), error = $2, payload = sqlc.arg(payload) WHERE id = $1;

-- name: DeliveryDeleteOld :execrows
DELETE FROM platform_deliveries WHERE processed_at IS NOT NULL AND received_at < now() - interval '7 days';

-- name: RevocationInsert :exec
-- server is recorded as the login of a stored token of the account, when
-- account (an account id) is set and such a token exists.
INSERT INTO platform_revocations (platform, subscription, kind, reason, server)
VALUES (sqlc.arg(platform), sqlc.arg(subscription), sqlc.arg(kind), sqlc.arg(reason), COALESCE(
    (SELECT t.account_login FROM platform_tokens t
     WHERE t.platform = sqlc.arg(platform) AND t.account_id = sqlc.arg(account)::text
       AND sqlc.arg(account)::text <> '' AND t.account_login <> ''
     ORDER BY t.updated_at DESC LIMIT 1),
    sqlc.arg(server)::text));

-- name: RevocationList :many
SELECT * FROM platform_revocations ORDER BY id DESC LIMIT $1;
