-- name: ReputationRecord :one
-- A moderation action on an account, in the event's transaction: the
-- account's row is locked first (and created, with its own identity, if it
-- is new), as PointsAdd does, so the action lands on the identity the
-- account belongs to now; the community gets to know the person if it did
-- not, their reputation changes by delta (kept within ±1,000,000), and the
-- action joins their moderation history. Returns the identity and the new
-- reputation.
WITH acct AS (
    INSERT INTO identity_accounts (platform, account_id, user_name)
    VALUES (sqlc.arg(platform)::text, sqlc.arg(account_id)::text, left(sqlc.arg(user_name)::text, 100))
    ON CONFLICT (platform, account_id) DO UPDATE
    SET user_name = CASE WHEN EXCLUDED.user_name = '' THEN identity_accounts.user_name ELSE EXCLUDED.user_name END
    RETURNING identity_id
), person AS (
    INSERT INTO community_people (community_id, identity_id, reputation)
    SELECT sqlc.arg(community_id)::bigint, acct.identity_id, greatest(-1000000, least(1000000, sqlc.arg(delta)::integer))
    FROM acct
    ON CONFLICT (community_id, identity_id) DO UPDATE
    SET reputation = greatest(-1000000, least(1000000, community_people.reputation + EXCLUDED.reputation))
    RETURNING community_people.identity_id, community_people.reputation
), ev AS (
    INSERT INTO reputation_events (community_id, identity_id, action, delta, reason, platform, account_id)
    SELECT sqlc.arg(community_id)::bigint, person.identity_id, sqlc.arg(action)::text, sqlc.arg(delta)::integer,
        left(sqlc.arg(reason)::text, 500), sqlc.arg(platform)::text, sqlc.arg(account_id)::text
    FROM person
)
SELECT identity_id, reputation FROM person;

-- name: PeopleRecent :many
-- A community's people, last seen first, after the cursor (last seen, id).
SELECT p.identity_id, p.reputation, p.first_seen, p.last_seen, i.display_name, i.primary_platform,
    coalesce(b.balance, 0)::bigint AS balance
FROM community_people p
JOIN identities i ON i.id = p.identity_id
LEFT JOIN points_balances b ON b.community_id = p.community_id AND b.identity_id = p.identity_id
WHERE p.community_id = sqlc.arg(community_id)
  AND (sqlc.arg(first)::boolean OR (p.last_seen, p.identity_id) < (sqlc.arg(before_seen)::timestamptz, sqlc.arg(before_id)::bigint))
ORDER BY p.last_seen DESC, p.identity_id DESC
LIMIT sqlc.arg(lim);

-- name: PeopleSearchByName :many
-- A community's people with an account, on any platform, whose lower-cased
-- name lies in [lo, hi) (a prefix's range, byte order), by that name, after
-- the cursor (name, id), which starts at (lo, 0): the one lower bound, so
-- that the index scan starts there (a bound on the name beside the row
-- comparison would make it start at the cursor's, or the index's, start).
-- A person appears once, at the first of their accounts that matches.
SELECT a.identity_id, (lower(a.user_name) COLLATE "C")::text AS match_name, p.reputation, p.first_seen, p.last_seen,
    i.display_name, i.primary_platform, coalesce(b.balance, 0)::bigint AS balance
FROM identity_accounts a
JOIN community_people p ON p.community_id = sqlc.arg(community_id) AND p.identity_id = a.identity_id
JOIN identities i ON i.id = a.identity_id
LEFT JOIN points_balances b ON b.community_id = p.community_id AND b.identity_id = p.identity_id
WHERE (lower(a.user_name) COLLATE "C", a.identity_id) > (sqlc.arg(after_name)::text, sqlc.arg(after_id)::bigint)
  AND lower(a.user_name) COLLATE "C" < sqlc.arg(hi)::text
  AND NOT EXISTS (
    SELECT 1 FROM identity_accounts o
    WHERE o.identity_id = a.identity_id
      AND lower(o.user_name) COLLATE "C" >= sqlc.arg(lo)::text
      AND lower(o.user_name) COLLATE "C" < sqlc.arg(hi)::text
      AND (lower(o.user_name) COLLATE "C", o.platform) < (lower(a.user_name) COLLATE "C", a.platform))
ORDER BY lower(a.user_name) COLLATE "C", a.identity_id
LIMIT sqlc.arg(lim);

-- name: PeopleAccounts :many
-- The accounts of some identities.
SELECT * FROM identity_accounts WHERE identity_id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY identity_id, platform;

-- name: PersonGet :one
-- A person as one community knows them; no row when the community does not.
SELECT p.identity_id, p.reputation, p.first_seen, p.last_seen, i.display_name, i.primary_platform, i.user_id,
    coalesce(b.balance, 0)::bigint AS balance
FROM community_people p
JOIN identities i ON i.id = p.identity_id
LEFT JOIN points_balances b ON b.community_id = p.community_id AND b.identity_id = p.identity_id
WHERE p.community_id = sqlc.arg(community_id) AND p.identity_id = sqlc.arg(identity_id);

-- name: PersonLock :one
-- A person's reputation, locked for a change; no row when the community does
-- not know them.
SELECT reputation FROM community_people
WHERE community_id = sqlc.arg(community_id) AND identity_id = sqlc.arg(identity_id)
FOR UPDATE;

-- name: PersonReputationSet :exec
UPDATE community_people SET reputation = sqlc.arg(reputation)
WHERE community_id = sqlc.arg(community_id) AND identity_id = sqlc.arg(identity_id);

-- name: ReputationEventInsert :exec
INSERT INTO reputation_events (community_id, identity_id, action, delta, reason, platform, account_id, actor_id)
VALUES (sqlc.arg(community_id), sqlc.arg(identity_id), sqlc.arg(action), sqlc.arg(delta), sqlc.arg(reason),
    sqlc.arg(platform), sqlc.arg(account_id), sqlc.narg(actor_id));

-- name: PersonLedger :many
-- A person's points ledger in one community, newest first, before the id
-- cursor (0: from the newest).
SELECT * FROM points_ledger
WHERE community_id = sqlc.arg(community_id) AND identity_id = sqlc.arg(identity_id)
  AND (sqlc.arg(before_id)::bigint = 0 OR id < sqlc.arg(before_id)::bigint)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: PersonHistory :many
-- A person's moderation history and reputation changes in one community,
-- newest first, before the id cursor (0: from the newest), with who adjusted.
SELECT e.id, e.action, e.delta, e.reason, e.platform, e.account_id, e.actor_id, e.created_at,
    coalesce(u.email, '')::text AS actor_email, coalesce(u.display_name, '')::text AS actor_name
FROM reputation_events e
LEFT JOIN users u ON u.id = e.actor_id
WHERE e.community_id = sqlc.arg(community_id) AND e.identity_id = sqlc.arg(identity_id)
  AND (sqlc.arg(before_id)::bigint = 0 OR e.id < sqlc.arg(before_id)::bigint)
ORDER BY e.id DESC
LIMIT sqlc.arg(lim);
