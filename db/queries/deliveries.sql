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
INSERT INTO platform_revocations (platform, subscription, kind, reason, server) VALUES ($1, $2, $3, $4, $5);

-- name: RevocationList :many
SELECT * FROM platform_revocations ORDER BY id DESC LIMIT $1;
