-- Purchases and subscriptions of paid modules, and the payment provider's
-- events already applied. A purchase pays for its module while its status is
-- active, past_due or canceled and expires_at (NULL: never) is in the future;
-- see marketplace/purchase.go.

-- name: MarketplacePurchaseModuleBySlug :one
SELECT id, slug, name, price_kind, price_cents, currency, listed
FROM marketplace_modules WHERE slug = $1;

-- name: MarketplacePurchaseInstalled :one
SELECT EXISTS (SELECT 1 FROM marketplace_installs WHERE community_id = $1 AND module_id = $2);

-- name: MarketplacePurchaseGet :one
SELECT * FROM marketplace_purchases WHERE community_id = $1 AND module_id = $2;

-- name: MarketplacePurchaseForUpdate :one
SELECT * FROM marketplace_purchases WHERE community_id = $1 AND module_id = $2 FOR UPDATE;

-- name: MarketplacePurchaseBySessionForUpdate :one
SELECT * FROM marketplace_purchases WHERE provider = $1 AND checkout_session = $2 AND checkout_session <> '' FOR UPDATE;

-- name: MarketplacePurchaseBySubscriptionForUpdate :one
SELECT * FROM marketplace_purchases WHERE provider = $1 AND provider_subscription = $2 AND provider_subscription <> '' FOR UPDATE;

-- name: MarketplacePurchaseBySession :one
-- The purchase a checkout session pays for, with its module, for the test
-- provider's checkout page.
SELECT p.community_id, p.module_id, p.kind, p.status, m.slug, m.name, m.price_kind, m.price_cents, m.currency
FROM marketplace_purchases p JOIN marketplace_modules m ON m.id = p.module_id
WHERE p.provider = $1 AND p.checkout_session = $2 AND p.checkout_session <> '';

-- name: MarketplacePurchaseStartCheckout :one
-- A checkout started: a new purchase is pending; an existing one keeps its
-- status (it is not paid, or the checkout would have been refused) and
-- remembers the new session.
INSERT INTO marketplace_purchases (community_id, module_id, kind, status, provider, checkout_session)
VALUES ($1, $2, $3, 'pending', $4, $5)
ON CONFLICT (community_id, module_id) DO UPDATE
SET kind = EXCLUDED.kind, provider = EXCLUDED.provider, checkout_session = EXCLUDED.checkout_session, updated_at = now()
RETURNING *;

-- name: MarketplacePurchaseCreatePending :one
-- A completed checkout whose purchase row is missing (the checkout began
-- while the row was being written): created from the checkout's metadata,
-- when the community and the paid module exist.
INSERT INTO marketplace_purchases (community_id, module_id, kind, status, provider)
SELECT c.id, m.id, m.price_kind, 'pending', sqlc.arg(provider)::text
FROM communities c, marketplace_modules m
WHERE c.id = sqlc.arg(community_id)::bigint AND m.id = sqlc.arg(module_id)::bigint AND m.price_kind <> 'free'
ON CONFLICT (community_id, module_id) DO NOTHING
RETURNING *;

-- name: MarketplacePurchaseUpdate :exec
UPDATE marketplace_purchases
SET status = $3, expires_at = $4, checkout_session = $5, provider_customer = $6, provider_subscription = $7, updated_at = now()
WHERE community_id = $1 AND module_id = $2;

-- name: MarketplacePaymentEventInsert :execrows
-- Records a provider's event; 0 rows: it was applied before.
INSERT INTO marketplace_payment_events (provider, event_id) VALUES ($1, $2)
ON CONFLICT (provider, event_id) DO NOTHING;

-- name: MarketplacePurchaseUnpaid :many
-- The paid modules installed in a community that are not paid for at the
-- given time (never bought, or lapsed), with what is known of their purchase.
SELECT m.id, m.slug, m.name, m.price_kind, m.price_cents, m.currency,
       coalesce(p.status, '')::text AS status, p.expires_at
FROM marketplace_installs i
JOIN marketplace_modules m ON m.id = i.module_id
LEFT JOIN marketplace_purchases p ON p.community_id = i.community_id AND p.module_id = i.module_id
WHERE i.community_id = sqlc.arg(community_id)::bigint AND m.price_kind <> 'free'
  AND NOT (coalesce(p.status IN ('active', 'past_due', 'canceled'), false)
           AND (p.expires_at IS NULL OR p.expires_at > sqlc.arg(at)::timestamptz))
ORDER BY m.name, m.id;
