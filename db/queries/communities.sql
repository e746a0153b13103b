-- name: CommunityCreate :one
INSERT INTO communities (slug, name, description) VALUES ($1, $2, $3) RETURNING *;

-- name: CommunityGet :one
SELECT * FROM communities WHERE id = $1;

-- name: CommunityCount :one
SELECT count(*) FROM communities;

-- name: CommunityUpdate :one
UPDATE communities SET name = $2, description = $3, updated_at = now()
WHERE id = $1
RETURNING *;

-- name: CommunityListForUser :many
-- The communities a user belongs to, with the user's role in each.
SELECT c.*, m.role
FROM communities c
JOIN community_members m ON m.community_id = c.id
WHERE m.user_id = $1
ORDER BY c.name, c.id;

-- name: CommunityListAll :many
SELECT * FROM communities ORDER BY name, id;

-- name: MemberGetRole :one
SELECT role FROM community_members WHERE community_id = $1 AND user_id = $2;

-- name: MemberAdd :exec
INSERT INTO community_members (community_id, user_id, role) VALUES ($1, $2, $3)
ON CONFLICT (community_id, user_id) DO NOTHING;

-- name: MemberList :many
SELECT m.community_id, m.user_id, m.role, m.created_at, u.email, u.display_name
FROM community_members m
JOIN users u ON u.id = m.user_id
WHERE m.community_id = $1
ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'moderator' THEN 2 ELSE 3 END, u.email;

-- name: MemberGet :one
SELECT m.community_id, m.user_id, m.role, m.created_at, u.email, u.display_name
FROM community_members m
JOIN users u ON u.id = m.user_id
WHERE m.community_id = $1 AND m.user_id = $2;

-- name: MemberSetRole :exec
UPDATE community_members SET role = $3 WHERE community_id = $1 AND user_id = $2;

-- name: MemberRemove :exec
DELETE FROM community_members WHERE community_id = $1 AND user_id = $2;

-- name: InvitationInsert :one
-- An invitation starts without a token: the token is minted when its mail is sent.
INSERT INTO community_invitations (community_id, email, role, invited_by, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: InvitationGetForMail :one
-- A pending invitation with what its mail says, locked while its link is minted.
-- inviter is the inviter's name, or '' when the account is gone.
SELECT i.id, i.email, i.role, c.name AS community_name,
       coalesce(nullif(u.display_name, ''), u.email, '')::text AS inviter
FROM community_invitations i
JOIN communities c ON c.id = i.community_id
LEFT JOIN users u ON u.id = i.invited_by
WHERE i.id = $1 AND i.accepted_at IS NULL AND i.expires_at > now()
FOR UPDATE OF i;

-- name: InvitationSetToken :exec
-- Replaces the invitation's token: a link mailed before (by a failed attempt) stops working.
UPDATE community_invitations SET token_hash = $2 WHERE id = $1;

-- name: InvitationListPending :many
SELECT * FROM community_invitations
WHERE community_id = $1 AND accepted_at IS NULL AND expires_at > now()
ORDER BY created_at DESC;

-- name: InvitationGetValid :one
SELECT i.*, c.name AS community_name
FROM community_invitations i
JOIN communities c ON c.id = i.community_id
WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now();

-- name: InvitationAccept :execrows
UPDATE community_invitations SET accepted_at = now()
WHERE id = $1 AND accepted_at IS NULL;

-- name: InvitationRevoke :execrows
DELETE FROM community_invitations
WHERE community_id = $1 AND id = $2 AND accepted_at IS NULL;

-- name: InvitationDeleteStale :execrows
DELETE FROM community_invitations WHERE accepted_at IS NULL AND expires_at < now() - interval '30 days';

-- name: InvitationRevokeForEmail :exec
-- A new invitation to the same address replaces the pending ones.
DELETE FROM community_invitations
WHERE community_id = $1 AND email = $2 AND accepted_at IS NULL;

-- name: MemberLockOwners :many
-- Locks the owner rows, so two owners stepping down at once cannot leave none.
SELECT user_id FROM community_members
WHERE community_id = $1 AND role = 'owner'
FOR UPDATE;

-- name: CommunityGetBySlug :one
SELECT * FROM communities WHERE slug = $1;
