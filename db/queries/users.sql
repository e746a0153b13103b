-- name: UserCreate :one
INSERT INTO users (email, display_name, password_hash, is_admin)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: UserGet :one
SELECT * FROM users WHERE id = $1;

-- name: UserGetByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: UserCount :one
SELECT count(*) FROM users;

-- name: UserSetPassword :one
-- Sets a new password hash and, when end_sessions is true, ends every other session.
UPDATE users
SET password_hash = $2,
    password_changed_at = now(),
    session_version = session_version + CASE WHEN sqlc.arg(end_sessions)::boolean THEN 1 ELSE 0 END
WHERE id = $1
RETURNING *;

-- name: UserSetDisplayName :exec
UPDATE users SET display_name = $2 WHERE id = $1;

-- name: PasswordResetInsert :one
-- A reset starts without a token: the token is minted when its mail is sent.
INSERT INTO password_resets (user_id, expires_at) VALUES ($1, $2) RETURNING id;

-- name: PasswordResetGetForMail :one
-- A reset that can still be used, with its account's address, locked while its
-- link is minted.
SELECT pr.id, u.email
FROM password_resets pr
JOIN users u ON u.id = pr.user_id
WHERE pr.id = $1 AND pr.used_at IS NULL AND pr.expires_at > now()
FOR UPDATE OF pr;

-- name: PasswordResetSetToken :exec
-- Replaces the reset's token: a link mailed before (by a failed attempt) stops working.
UPDATE password_resets SET token_hash = $2 WHERE id = $1;

-- name: PasswordResetGetValid :one
-- A reset token that is unused and not expired, locked for the update that uses it.
SELECT * FROM password_resets
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
FOR UPDATE;

-- name: PasswordResetMarkUsed :exec
-- Uses this token and voids every other outstanding token of the same user.
UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL;

-- name: SessionDeleteExpired :execrows
DELETE FROM sessions WHERE expiry < now();

-- name: PasswordResetDeleteStale :execrows
-- Reset tokens are kept a day after they stop working, for the audit of support questions.
DELETE FROM password_resets WHERE expires_at < now() - interval '1 day';

-- name: SessionFind :one
SELECT data FROM sessions WHERE token = $1 AND expiry > now();

-- name: SessionCommit :exec
INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry;

-- name: SessionDelete :exec
DELETE FROM sessions WHERE token = $1;

-- name: UserSetTimeZone :exec
UPDATE users SET time_zone = $2 WHERE id = $1;

-- name: UserSetTimeZoneIfUnset :execrows
-- The browser's zone, taken only while the person has not chosen one.
UPDATE users SET time_zone = $2 WHERE id = $1 AND time_zone = '';
