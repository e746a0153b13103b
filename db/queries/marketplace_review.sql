-- Reviews and ratings of marketplace modules (marketplace/review.go). A
-- module's rating_count and rating_sum change with each review in the same
-- transaction, by the review's own delta: never recounted.

-- name: MarketplaceReviewModule :one
SELECT id, slug, name, author_id, rating_count, rating_sum FROM marketplace_modules WHERE slug = $1;

-- name: MarketplaceReviewMayReview :one
-- Whether the user belongs to a community that has the module installed.
SELECT EXISTS (
    SELECT 1 FROM marketplace_installs i
    JOIN community_members m ON m.community_id = i.community_id
    WHERE i.module_id = $1 AND m.user_id = $2)::boolean AS allowed;

-- name: MarketplaceReviewUserIsAdmin :one
SELECT is_admin FROM users WHERE id = $1;

-- name: MarketplaceReviewLock :one
SELECT * FROM marketplace_reviews WHERE module_id = $1 AND user_id = $2 FOR UPDATE;

-- name: MarketplaceReviewInsert :one
-- Nothing when a concurrent call inserted the review first; the caller then
-- locks that row and edits it.
INSERT INTO marketplace_reviews (module_id, user_id, stars, body)
VALUES ($1, $2, $3, $4)
ON CONFLICT (module_id, user_id) DO NOTHING
RETURNING *;

-- name: MarketplaceReviewUpdate :one
UPDATE marketplace_reviews SET stars = $3, body = $4, updated_at = now()
WHERE module_id = $1 AND user_id = $2
RETURNING *;

-- name: MarketplaceReviewDelete :exec
DELETE FROM marketplace_reviews WHERE module_id = $1 AND user_id = $2;

-- name: MarketplaceReviewAnswer :one
UPDATE marketplace_reviews SET answer = $3, answered_at = now()
WHERE module_id = $1 AND user_id = $2 AND answered_at IS NULL
RETURNING *;

-- name: MarketplaceReviewSetHidden :one
UPDATE marketplace_reviews SET hidden = sqlc.arg(hidden), hidden_by = sqlc.narg(hidden_by)
WHERE module_id = $1 AND user_id = $2
RETURNING *;

-- name: MarketplaceReviewRating :exec
-- Adds one review's change to the module's count and sum of stars.
UPDATE marketplace_modules
SET rating_count = rating_count + sqlc.arg(count_delta)::integer, rating_sum = rating_sum + sqlc.arg(sum_delta)::integer
WHERE id = $1;

-- name: MarketplaceReviewList :many
-- Newest first; hidden reviews only for admins.
SELECT r.module_id, r.user_id, r.stars, r.body, r.answer, r.answered_at, r.hidden, r.created_at, r.updated_at,
    u.display_name AS reviewer_name
FROM marketplace_reviews r
JOIN users u ON u.id = r.user_id
WHERE r.module_id = $1 AND (NOT r.hidden OR sqlc.arg(include_hidden)::boolean)
ORDER BY r.created_at DESC, r.user_id DESC
LIMIT sqlc.arg(max_rows) OFFSET sqlc.arg(skip);

-- name: MarketplaceReviewCount :one
SELECT count(*) FROM marketplace_reviews
WHERE module_id = $1 AND (NOT hidden OR sqlc.arg(include_hidden)::boolean);

-- name: MarketplaceReviewGet :one
SELECT r.module_id, r.user_id, r.stars, r.body, r.answer, r.answered_at, r.hidden, r.created_at, r.updated_at,
    u.display_name AS reviewer_name
FROM marketplace_reviews r
JOIN users u ON u.id = r.user_id
WHERE r.module_id = $1 AND r.user_id = $2;
