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

-- name: PasswordResetInsert :exec
INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, $2, $3);

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
