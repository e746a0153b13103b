-- name: LabelGroupServer :one
-- A server of the platform that the community linked (the only servers a
-- label may be mapped on).
SELECT * FROM platform_entities
WHERE community_id = $1 AND platform = $2 AND server = $3;

-- name: LabelGroupServers :many
SELECT * FROM platform_entities WHERE community_id = $1 ORDER BY platform, server;

-- name: LabelGroupLabel :one
-- The community's own label (not a hub-wide one), for mapping.
SELECT * FROM labels WHERE community_id = sqlc.arg(community_id)::bigint AND id = sqlc.arg(id);

-- name: LabelGroupInsert :one
INSERT INTO label_groups (community_id, label_id, platform, server, group_id, group_name)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: LabelGroupDelete :one
DELETE FROM label_groups WHERE community_id = $1 AND label_id = $2 AND id = $3 RETURNING *;

-- name: LabelGroupGet :one
SELECT * FROM label_groups WHERE community_id = $1 AND id = $2;

-- name: LabelGroupListByLabel :many
SELECT * FROM label_groups WHERE community_id = $1 AND label_id = $2 ORDER BY platform, server, id;

-- name: LabelGroupTargets :many
-- For one label change: every group of the label and the person's account on
-- that group's platform (none: no row).
SELECT g.id AS group_id, a.account_id
FROM label_groups g
JOIN identity_accounts a ON a.platform = g.platform AND a.identity_id = sqlc.arg(identity_id)::bigint
WHERE g.community_id = sqlc.arg(community_id)::bigint AND g.label_id = sqlc.arg(label_id)::bigint
ORDER BY g.id;

-- name: LabelAssignmentUpsert :one
-- Asks again for an account's role to be given (want) or taken: pending,
-- with a fresh count of attempts.
INSERT INTO label_assignments (community_id, group_id, identity_id, account_id, want, state, detail, attempts)
VALUES ($1, $2, $3, $4, $5, 'pending', '', 0)
ON CONFLICT (group_id, account_id) DO UPDATE
SET identity_id = EXCLUDED.identity_id, want = EXCLUDED.want, state = 'pending', detail = '', attempts = 0, updated_at = now()
RETURNING *;

-- name: LabelAssignmentSet :exec
-- Records what a re-sync found, or what a choice left, for one account.
INSERT INTO label_assignments (community_id, group_id, identity_id, account_id, want, state, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (group_id, account_id) DO UPDATE
SET identity_id = EXCLUDED.identity_id, want = EXCLUDED.want, state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now();

-- name: LabelAssignmentJob :one
-- The assignment a job works on, with its group, locked while the job runs
-- so that a newer change waits for this attempt's outcome.
SELECT a.id, a.community_id, a.group_id, a.identity_id, a.account_id, a.want, a.state, a.attempts,
    g.platform, g.server, g.group_id AS platform_group, g.label_id
FROM label_assignments a JOIN label_groups g ON g.id = a.group_id
WHERE a.id = $1;

-- name: LabelAssignmentAttempt :one
-- Counts an attempt of a pending assignment that still wants what the job
-- was queued for; no row: the job is stale.
UPDATE label_assignments SET attempts = attempts + 1, updated_at = now()
WHERE id = sqlc.arg(id) AND want = sqlc.arg(want) AND state = 'pending'
RETURNING attempts;

-- name: LabelAssignmentFinish :execrows
-- Records how an attempt went, unless the assignment was asked for the
-- opposite meanwhile.
UPDATE label_assignments SET state = sqlc.arg(state), detail = left(sqlc.arg(detail)::text, 500), updated_at = now()
WHERE id = sqlc.arg(id) AND want = sqlc.arg(want) AND state = 'pending';

-- name: LabelAssignmentNote :exec
-- Notes why the last attempt failed while the job retries.
UPDATE label_assignments SET detail = left(sqlc.arg(detail)::text, 500), updated_at = now()
WHERE id = sqlc.arg(id) AND want = sqlc.arg(want) AND state = 'pending';

-- name: LabelAssignmentListByLabel :many
SELECT a.*, g.platform, g.server, g.group_name, i.display_name,
    coalesce((SELECT ia.user_name FROM identity_accounts ia WHERE ia.platform = g.platform AND ia.account_id = a.account_id), '')::text AS user_name
FROM label_assignments a
JOIN label_groups g ON g.id = a.group_id
LEFT JOIN identities i ON i.id = a.identity_id
WHERE a.community_id = sqlc.arg(community_id) AND g.community_id = sqlc.arg(community_id) AND g.label_id = sqlc.arg(label_id)
ORDER BY (a.state = 'differs') DESC, (a.state = 'failed') DESC, a.updated_at DESC, a.id
LIMIT 500;

-- name: LabelAssignmentListByIdentity :many
SELECT a.*, g.platform, g.server, g.group_name, l.name AS label_name
FROM label_assignments a
JOIN label_groups g ON g.id = a.group_id
JOIN labels l ON l.id = g.label_id
WHERE a.community_id = sqlc.arg(community_id) AND g.community_id = sqlc.arg(community_id) AND a.identity_id = sqlc.arg(identity_id)
ORDER BY l.name, g.platform, g.server;

-- name: LabelAssignmentGetForChoice :one
SELECT a.*, g.label_id, g.platform, g.server
FROM label_assignments a JOIN label_groups g ON g.id = a.group_id
WHERE a.community_id = sqlc.arg(community_id) AND g.label_id = sqlc.arg(label_id) AND a.id = sqlc.arg(id)
FOR UPDATE OF a;

-- name: LabelAssignmentDiffers :many
SELECT a.id FROM label_assignments a JOIN label_groups g ON g.id = a.group_id
WHERE a.community_id = sqlc.arg(community_id) AND g.label_id = sqlc.arg(label_id) AND a.state = 'differs'
ORDER BY a.id;

-- name: LabelAssignmentsOfGroup :many
SELECT * FROM label_assignments WHERE community_id = $1 AND group_id = $2;

-- name: LabelGroupHolders :many
-- The accounts, on the group's platform, of the people who have the label.
SELECT p.identity_id, a.account_id
FROM person_labels p
JOIN identity_accounts a ON a.identity_id = p.identity_id AND a.platform = sqlc.arg(platform)::text
WHERE p.community_id = sqlc.arg(community_id)::bigint AND p.label_id = sqlc.arg(label_id)::bigint;

-- name: LabelGroupPersonLock :one
-- Locks the person in the community before their labels are counted and
-- changed, as every label change does, so two changes cannot pass the limit.
SELECT identity_id FROM community_people WHERE community_id = $1 AND identity_id = $2 FOR UPDATE;

-- name: LabelGroupPersonEnsure :exec
INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2)
ON CONFLICT (community_id, identity_id) DO NOTHING;

-- name: LabelGroupPersonLabelCount :one
SELECT count(*) FROM person_labels WHERE community_id = $1 AND identity_id = $2;

-- name: LabelGroupPersonLabelAdd :execrows
INSERT INTO person_labels (community_id, identity_id, label_id, added_by)
VALUES ($1, $2, $3, sqlc.narg(added_by))
ON CONFLICT DO NOTHING;

-- name: LabelGroupPersonLabelRemove :execrows
DELETE FROM person_labels WHERE community_id = $1 AND identity_id = $2 AND label_id = $3;

-- name: LabelGroupTargetsMany :many
-- For a batch of label changes in one community: every group of each changed
-- label and the person's account on that group's platform, in change order.
SELECT c.ord::bigint AS ord, g.id AS group_id, a.account_id, c.identity_id::bigint AS identity_id, c.give::boolean AS give
FROM (SELECT unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id, unnest(sqlc.arg(label_ids)::bigint[]) AS label_id,
        unnest(sqlc.arg(gives)::boolean[]) AS give, generate_subscripts(sqlc.arg(gives)::boolean[], 1) AS ord) c
JOIN label_groups g ON g.community_id = sqlc.arg(community_id)::bigint AND g.label_id = c.label_id
JOIN identity_accounts a ON a.platform = g.platform AND a.identity_id = c.identity_id
ORDER BY c.ord, g.id;

-- name: LabelAssignmentUpsertMany :many
-- LabelAssignmentUpsert for many accounts (each (group, account) once).
INSERT INTO label_assignments (community_id, group_id, identity_id, account_id, want, state, detail, attempts)
SELECT sqlc.arg(community_id)::bigint, u.group_id, u.identity_id, u.account_id, u.want, 'pending', '', 0
FROM (SELECT unnest(sqlc.arg(group_ids)::bigint[]) AS group_id, unnest(sqlc.arg(identity_ids)::bigint[]) AS identity_id,
        unnest(sqlc.arg(account_ids)::text[]) AS account_id, unnest(sqlc.arg(wants)::boolean[]) AS want) u
ON CONFLICT (group_id, account_id) DO UPDATE
SET identity_id = EXCLUDED.identity_id, want = EXCLUDED.want, state = 'pending', detail = '', attempts = 0, updated_at = now()
RETURNING id, want, group_id, account_id;

-- name: LabelGroupsByIDs :many
SELECT * FROM label_groups WHERE community_id = sqlc.arg(community_id) AND id = ANY(sqlc.arg(ids)::bigint[]);

-- name: LabelAssignmentExists :one
SELECT EXISTS (SELECT 1 FROM label_assignments WHERE id = $1);

-- name: LabelGroupLockSync :one
-- Serializes the jobs of one group whose platform replaces the whole member
-- list on each change (Slack), so that two read-modify-writes cannot lose
-- each other's member. NO KEY UPDATE: new assignments (whose reference takes
-- KEY SHARE) are not held up.
SELECT id FROM label_groups WHERE id = $1 FOR NO KEY UPDATE;
