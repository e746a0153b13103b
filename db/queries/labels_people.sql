-- Labels on people: a community's labels on the identities it knows.

-- name: CommunityPersonLock :one
-- The person's row in the community, locked. No row: the community has not
-- met that person (a label never reaches someone a community does not know:
-- their accounts, and which accounts are linked, stay private to the
-- communities they chat in).
SELECT identity_id FROM community_people
WHERE community_id = sqlc.arg(community_id)::bigint AND identity_id = sqlc.arg(identity_id)::bigint
FOR UPDATE;

-- name: CommunityPeopleLockMany :many
-- CommunityPersonLock for many identities at once, in key order.
SELECT identity_id FROM community_people
WHERE community_id = sqlc.arg(community_id)::bigint AND identity_id = ANY(sqlc.arg(identity_ids)::bigint[])
ORDER BY identity_id
FOR UPDATE;

-- name: PersonLabelCount :one
SELECT count(*) FROM person_labels WHERE community_id = sqlc.arg(community_id) AND identity_id = sqlc.arg(identity_id);

-- name: PersonLabelAdd :execrows
INSERT INTO person_labels (community_id, identity_id, label_id, added_by)
VALUES (sqlc.arg(community_id), sqlc.arg(identity_id), sqlc.arg(label_id), sqlc.narg(added_by))
ON CONFLICT DO NOTHING;

-- name: PersonLabelRemove :execrows
DELETE FROM person_labels
WHERE community_id = sqlc.arg(community_id) AND identity_id = sqlc.arg(identity_id) AND label_id = sqlc.arg(label_id);

-- name: PersonLabelsOf :many
SELECT l.* FROM person_labels p JOIN labels l ON l.id = p.label_id AND l.community_id = p.community_id
WHERE p.community_id = sqlc.arg(community_id) AND p.identity_id = sqlc.arg(identity_id)
ORDER BY lower(l.name), l.id;

-- name: PersonLabelsOfMany :many
SELECT identity_id, label_id FROM person_labels
WHERE community_id = sqlc.arg(community_id) AND identity_id = ANY(sqlc.arg(identity_ids)::bigint[]);

-- name: PersonLabelsAddMany :execrows
INSERT INTO person_labels (community_id, identity_id, label_id, added_by)
SELECT sqlc.arg(community_id)::bigint, t.identity_id, t.label_id, sqlc.narg(added_by)::bigint
FROM (SELECT unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id, unnest(sqlc.arg(label_ids)::bigint[]) AS label_id) t
ORDER BY t.identity_id, t.label_id
ON CONFLICT DO NOTHING;

-- name: PersonLabelsRemoveMany :execrows
DELETE FROM person_labels p
USING (SELECT unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id, unnest(sqlc.arg(label_ids)::bigint[]) AS label_id) t
WHERE p.community_id = sqlc.arg(community_id) AND p.identity_id = t.identity_id AND p.label_id = t.label_id;

-- name: PersonResolve :many
-- Resolves people named in a bulk request, item by item (n is the item's
-- index), among the community's own people only: by identity id, by
-- platform account id, or by the name an account last used on a platform
-- (the most recently seen when names repeat). 0: the community knows no
-- such person.
SELECT t.n::int AS n, coalesce(byid.identity_id, byname.identity_id, 0)::bigint AS identity_id
FROM (SELECT unnest(sqlc.arg(ns)::int[]) AS n, unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id,
             unnest(sqlc.arg(platforms)::text[]) AS platform, unnest(sqlc.arg(accounts)::text[]) AS account,
             unnest(sqlc.arg(names)::text[]) AS name) t
LEFT JOIN LATERAL (
    SELECT a.identity_id FROM identity_accounts a
    JOIN community_people cp ON cp.community_id = sqlc.arg(community_id)::bigint AND cp.identity_id = a.identity_id
    WHERE (t.identity_id > 0 AND a.identity_id = t.identity_id)
       OR (t.account <> '' AND a.platform = t.platform AND a.account_id = t.account)
    LIMIT 1
) byid ON t.identity_id > 0 OR t.account <> ''
LEFT JOIN LATERAL (
    SELECT a.identity_id FROM identity_accounts a
    JOIN community_people cp ON cp.community_id = sqlc.arg(community_id)::bigint AND cp.identity_id = a.identity_id
    WHERE t.name <> '' AND a.platform = t.platform AND lower(a.user_name) = lower(t.name)
    ORDER BY cp.last_seen DESC, a.created_at DESC
    LIMIT 1
) byname ON t.name <> ''
ORDER BY t.n;

-- name: LabelSearchAll :many
-- A page of the people carrying every one of the labels: the people's label
-- arrays' GIN index intersects the labels' lists.
SELECT identity_id FROM person_label_sets
WHERE community_id = sqlc.arg(community_id) AND label_ids @> sqlc.arg(label_ids)::bigint[]
ORDER BY identity_id
LIMIT sqlc.arg(lim) OFFSET sqlc.arg(off);

-- name: LabelSearchAllCount :one
-- How many people carry every one of the labels.
SELECT count(*) FROM person_label_sets
WHERE community_id = sqlc.arg(community_id) AND label_ids @> sqlc.arg(label_ids)::bigint[];

-- name: LabelSearchAny :many
-- A page of the people carrying any of the labels.
SELECT DISTINCT identity_id FROM person_labels
WHERE community_id = sqlc.arg(community_id) AND label_id = ANY(sqlc.arg(label_ids)::bigint[])
ORDER BY identity_id
LIMIT sqlc.arg(lim) OFFSET sqlc.arg(off);

-- name: LabelSearchAnyCount :one
-- How many people carry any of the labels.
SELECT count(DISTINCT identity_id) FROM person_labels
WHERE community_id = sqlc.arg(community_id) AND label_id = ANY(sqlc.arg(label_ids)::bigint[]);

-- name: PeopleShown :many
-- Display names and accounts of a page of people, for lists.
SELECT i.id, i.display_name, i.primary_platform,
    coalesce((SELECT array_agg(a.platform || chr(31) || a.account_id || chr(31) || a.user_name ORDER BY a.platform)
              FROM identity_accounts a WHERE a.identity_id = i.id), '{}')::text[] AS accounts
FROM identities i
WHERE i.id = ANY(sqlc.arg(ids)::bigint[]);

-- name: LabelPeopleIDs :many
SELECT identity_id FROM person_labels WHERE community_id = sqlc.arg(community_id) AND label_id = sqlc.arg(label_id) ORDER BY identity_id;

-- name: LabelPeoplePage :many
-- People with the label, newest first, a page of them.
SELECT p.identity_id, i.display_name, p.created_at
FROM person_labels p JOIN identities i ON i.id = p.identity_id
WHERE p.community_id = sqlc.arg(community_id) AND p.label_id = sqlc.arg(label_id)
ORDER BY p.created_at DESC, p.identity_id
LIMIT sqlc.arg(lim) OFFSET sqlc.arg(off);

-- name: CommunityPersonShown :one
-- A person the community knows, with their display name.
SELECT i.id, i.display_name FROM community_people cp JOIN identities i ON i.id = cp.identity_id
WHERE cp.community_id = sqlc.arg(community_id) AND cp.identity_id = sqlc.arg(identity_id);

-- name: LabelsLockTimeout :exec
-- Bounds how long a labels transaction waits for a person's row, so that a
-- change made from chat while the event's own transaction holds that row
-- fails instead of waiting for ever.
SELECT set_config('lock_timeout', '5s', true);

-- name: PersonLabelsEverywhere :many
-- Every label a person carries, in every community (after an identity
-- merge, to give their roles to the accounts the person gained).
SELECT community_id, label_id FROM person_labels
WHERE identity_id = sqlc.arg(identity_id)
ORDER BY community_id, label_id;
