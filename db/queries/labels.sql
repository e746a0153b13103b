-- Labels: a community's own labels (for people) and hub-wide labels (no
-- community, for communities). scope is the community id, or 0 for the
-- hub-wide labels; every query filters by it.

-- name: LabelCreate :one
INSERT INTO labels (community_id, name, colour, description)
VALUES (nullif(sqlc.arg(scope)::bigint, 0), sqlc.arg(name), sqlc.arg(colour), sqlc.arg(description))
RETURNING *;

-- name: LabelUpdate :one
UPDATE labels SET name = sqlc.arg(name), colour = sqlc.arg(colour), description = sqlc.arg(description)
WHERE id = sqlc.arg(id) AND coalesce(community_id, 0) = sqlc.arg(scope)::bigint
RETURNING *;

-- name: LabelDelete :one
DELETE FROM labels WHERE id = sqlc.arg(id) AND coalesce(community_id, 0) = sqlc.arg(scope)::bigint
RETURNING *;

-- name: LabelGet :one
SELECT * FROM labels WHERE id = sqlc.arg(id) AND coalesce(community_id, 0) = sqlc.arg(scope)::bigint;

-- name: LabelGetByName :one
SELECT * FROM labels WHERE coalesce(community_id, 0) = sqlc.arg(scope)::bigint AND lower(name) = lower(sqlc.arg(name)::text);

-- name: LabelList :many
-- The scope's labels, by name, with how many people (community labels) or
-- communities (hub-wide labels) carry each.
SELECT l.*,
    CASE WHEN l.community_id IS NULL
        THEN (SELECT count(*) FROM community_labels c WHERE c.label_id = l.id)
        ELSE (SELECT count(*) FROM person_labels p WHERE p.community_id = l.community_id AND p.label_id = l.id)
    END::bigint AS uses
FROM labels l
WHERE coalesce(l.community_id, 0) = sqlc.arg(scope)::bigint
ORDER BY lower(l.name), l.id;

-- name: LabelsOfScope :many
SELECT * FROM labels WHERE coalesce(community_id, 0) = sqlc.arg(scope)::bigint ORDER BY lower(name), id;

-- name: LabelsByIDs :many
SELECT * FROM labels WHERE coalesce(community_id, 0) = sqlc.arg(scope)::bigint AND id = ANY(sqlc.arg(ids)::bigint[]);

-- name: CommunityLabelsOf :many
SELECT l.* FROM community_labels c JOIN labels l ON l.id = c.label_id AND l.community_id IS NULL
WHERE c.community_id = sqlc.arg(community_id)
ORDER BY lower(l.name), l.id;

-- name: CommunityLockForLabels :one
-- Locks the community's row, so that two changes of its labels take turns.
SELECT id FROM communities WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: CommunityLabelsClear :exec
DELETE FROM community_labels WHERE community_id = sqlc.arg(community_id);

-- name: CommunityLabelsInsert :exec
INSERT INTO community_labels (community_id, label_id)
SELECT sqlc.arg(community_id)::bigint, unnest(sqlc.arg(label_ids)::bigint[])
ON CONFLICT DO NOTHING;

-- name: CommunitiesByLabels :many
-- Communities carrying all (match_all) or any of the hub-wide labels, for the
-- directory and the marketplace.
SELECT c.community_id FROM community_labels c
WHERE c.label_id = ANY(sqlc.arg(label_ids)::bigint[])
GROUP BY c.community_id
HAVING NOT sqlc.arg(match_all)::boolean OR count(*) = cardinality(sqlc.arg(label_ids)::bigint[])
ORDER BY c.community_id;
