-- name: IdentityAccountsLock :many
-- The accounts of two identities, locked in key order (the order every points
-- write takes them in), so that no award runs on them while they move.
SELECT * FROM identity_accounts
WHERE identity_id = ANY(sqlc.arg(ids)::bigint[])
ORDER BY platform, account_id
FOR UPDATE;

-- name: IdentityAccountEnsure :one
-- The account's row, locked, created with its own identity when new.
INSERT INTO identity_accounts (platform, account_id, user_name)
VALUES (sqlc.arg(platform)::text, sqlc.arg(account_id)::text, left(sqlc.arg(user_name)::text, 100))
ON CONFLICT (platform, account_id) DO UPDATE
SET user_name = CASE WHEN EXCLUDED.user_name = '' THEN identity_accounts.user_name ELSE EXCLUDED.user_name END
RETURNING *;

-- name: IdentityAccountGet :one
SELECT * FROM identity_accounts WHERE platform = $1 AND account_id = $2;

-- name: IdentityAccountsOf :many
SELECT * FROM identity_accounts WHERE identity_id = $1 ORDER BY platform;

-- name: IdentityGet :one
SELECT * FROM identities WHERE id = $1;

-- name: IdentityGetForUpdate :one
SELECT * FROM identities WHERE id = $1 FOR UPDATE;

-- name: IdentityByUser :one
SELECT * FROM identities WHERE user_id = $1;

-- name: IdentityCreate :one
-- A new identity with no account yet (a hub user's, or an unlinked account's).
INSERT INTO identities (user_id, display_name, primary_platform)
VALUES (sqlc.narg(user_id), sqlc.arg(display_name), sqlc.arg(primary_platform))
RETURNING *;

-- name: IdentitySetUser :exec
UPDATE identities SET user_id = sqlc.narg(user_id) WHERE id = sqlc.arg(id);

-- name: IdentityDelete :exec
DELETE FROM identities WHERE id = $1;

-- name: IdentityAccountsMove :execrows
-- Moves every account of one identity to another, marking them linked.
UPDATE identity_accounts
SET identity_id = sqlc.arg(into_id), linked_at = coalesce(linked_at, now()), linked_by = sqlc.arg(linked_by)
WHERE identity_id = sqlc.arg(from_id);

-- name: IdentityAccountsMarkLinked :exec
UPDATE identity_accounts
SET linked_at = coalesce(linked_at, now()), linked_by = CASE WHEN linked_by = '' THEN sqlc.arg(linked_by) ELSE linked_by END
WHERE identity_id = sqlc.arg(identity_id);

-- name: IdentityAccountDetach :exec
-- Gives an account a new identity of its own (unlinking it).
UPDATE identity_accounts SET identity_id = sqlc.arg(new_id), linked_at = NULL, linked_by = ''
WHERE platform = sqlc.arg(platform) AND account_id = sqlc.arg(account_id);

-- name: IdentityAccountsUnlinkedIfAlone :exec
-- An identity left with one account is no longer linked.
UPDATE identity_accounts u SET linked_at = NULL, linked_by = ''
WHERE u.identity_id = sqlc.arg(identity_id)::bigint
  AND (SELECT count(*) FROM identity_accounts a WHERE a.identity_id = sqlc.arg(identity_id)::bigint) = 1;

-- name: PointsMergeIdentity :many
-- Moves one identity's balances onto another's, in every community, with a
-- ledger row on each side that says so; returns the new balances.
WITH moved AS (
    DELETE FROM points_balances WHERE points_balances.identity_id = sqlc.arg(from_id)
    RETURNING community_id, platform, user_id, user_name, balance
), bal AS (
    INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
    SELECT m.community_id, sqlc.arg(into_id)::bigint, m.platform, m.user_id, m.user_name, m.balance FROM moved m
    ORDER BY m.community_id
    ON CONFLICT (community_id, identity_id) DO UPDATE
    SET balance = points_balances.balance + EXCLUDED.balance, updated_at = now()
    RETURNING points_balances.community_id, points_balances.balance
), out_rows AS (
    INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
    SELECT m.community_id, sqlc.arg(from_id)::bigint, m.platform, m.user_id, m.user_name, -m.balance,
        'merged into ' || sqlc.arg(into_note)::text
    FROM moved m WHERE m.balance <> 0
), in_rows AS (
    INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
    SELECT m.community_id, sqlc.arg(into_id)::bigint, m.platform, m.user_id, m.user_name, m.balance,
        'merged from ' || sqlc.arg(from_note)::text
    FROM moved m WHERE m.balance <> 0
)
SELECT community_id, balance FROM bal;

-- name: WatchTimeMergeIdentity :exec
WITH moved AS (
    DELETE FROM watch_time WHERE watch_time.identity_id = sqlc.arg(from_id)
    RETURNING community_id, platform, user_id, user_name, seconds
)
INSERT INTO watch_time (community_id, identity_id, platform, user_id, user_name, seconds)
SELECT m.community_id, sqlc.arg(into_id)::bigint, m.platform, m.user_id, m.user_name, m.seconds FROM moved m
ORDER BY m.community_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET seconds = watch_time.seconds + EXCLUDED.seconds, updated_at = now();

-- name: PeopleMergeIdentity :exec
-- The communities that know the absorbed identity now know the survivor:
-- reputations add up, first seen is the earlier, last seen the later.
INSERT INTO community_people (community_id, identity_id, reputation, first_seen, last_seen)
SELECT p.community_id, sqlc.arg(into_id)::bigint, p.reputation, p.first_seen, p.last_seen
FROM community_people p WHERE p.identity_id = sqlc.arg(from_id)
ORDER BY p.community_id
ON CONFLICT (community_id, identity_id) DO UPDATE
SET reputation = greatest(-1000000, least(1000000, community_people.reputation + EXCLUDED.reputation)),
    first_seen = least(community_people.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(community_people.last_seen, EXCLUDED.last_seen);

-- name: ReputationEventsMergeIdentity :exec
UPDATE reputation_events SET identity_id = sqlc.arg(into_id) WHERE identity_id = sqlc.arg(from_id);

-- name: PersonLabelsMergeIdentity :execrows
-- The absorbed identity's labels join the survivor's, in each community up to
-- the limit of five a person (the survivor's own come first); returns how
-- many were carried over.
WITH cand AS (
    SELECT l.community_id, l.label_id, l.added_by, l.created_at,
        row_number() OVER (PARTITION BY l.community_id ORDER BY l.created_at, l.label_id) AS n
    FROM person_labels l
    WHERE l.identity_id = sqlc.arg(from_id)
      AND NOT EXISTS (SELECT 1 FROM person_labels s WHERE s.community_id = l.community_id AND s.identity_id = sqlc.arg(into_id) AND s.label_id = l.label_id)
)
INSERT INTO person_labels (community_id, identity_id, label_id, added_by, created_at)
SELECT c.community_id, sqlc.arg(into_id)::bigint, c.label_id, c.added_by, c.created_at FROM cand c
WHERE c.n + (SELECT count(*) FROM person_labels s WHERE s.community_id = c.community_id AND s.identity_id = sqlc.arg(into_id)) <= 5;

-- name: LabelAssignmentsMergeIdentity :exec
UPDATE label_assignments SET identity_id = sqlc.arg(into_id) WHERE identity_id = sqlc.arg(from_id);

-- name: PeopleDeleteIdentity :exec
DELETE FROM community_people WHERE identity_id = $1;

-- name: PersonLabelsCountIdentity :one
SELECT count(*) FROM person_labels WHERE identity_id = $1;
