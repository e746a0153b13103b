-- name: TOTPGet :one
SELECT * FROM user_totp WHERE user_id = $1;

-- name: TOTPSetPending :exec
-- Starts (or restarts) an enrolment; an enrolment already confirmed is kept.
INSERT INTO user_totp (user_id, secret_sealed) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_step = 0
WHERE user_totp.confirmed_at IS NULL;

-- name: TOTPConfirm :execrows
-- Confirms a pending enrolment with the time step of its first valid code.
UPDATE user_totp SET confirmed_at = now(), last_step = sqlc.arg(step)
WHERE user_id = $1 AND confirmed_at IS NULL;

-- name: TOTPUseStep :execrows
-- Accepts the code of time step for the account once: 0 rows when that step,
-- or a later one, was already used.
UPDATE user_totp SET last_step = sqlc.arg(step)
WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < sqlc.arg(step);

-- name: TOTPDelete :execrows
DELETE FROM user_totp WHERE user_id = $1;

-- name: RecoveryCodeInsert :copyfrom
INSERT INTO user_recovery_codes (user_id, salt, code_hash) VALUES ($1, $2, $3);

-- name: RecoveryCodeListUnused :many
SELECT id, salt, code_hash FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY id;

-- name: RecoveryCodeCountUnused :one
SELECT count(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL;

-- name: RecoveryCodeUse :execrows
UPDATE user_recovery_codes SET used_at = now() WHERE id = $1 AND user_id = $2 AND used_at IS NULL;

-- name: RecoveryCodeDeleteAll :exec
DELETE FROM user_recovery_codes WHERE user_id = $1;

-- name: WebAuthnHandleGet :one
SELECT handle FROM user_webauthn WHERE user_id = $1;

-- name: WebAuthnHandleEnsure :one
-- The account's user handle, created with the given one on first use.
WITH ins AS (
    INSERT INTO user_webauthn (user_id, handle) VALUES ($1, $2)
    ON CONFLICT (user_id) DO NOTHING
    RETURNING handle
)
SELECT handle FROM ins
UNION ALL
SELECT handle FROM user_webauthn WHERE user_id = $1
LIMIT 1;

-- name: WebAuthnUserByHandle :one
SELECT user_id FROM user_webauthn WHERE handle = $1;

-- name: PasskeyInsert :one
INSERT INTO user_passkeys (user_id, rp_id, name, credential_id, credential)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: PasskeyListByUser :many
SELECT * FROM user_passkeys WHERE user_id = $1 AND rp_id = $2 ORDER BY created_at, id;

-- name: PasskeyUpdateUsed :exec
-- Stores the credential as the last sign-in left it (its sign count and flags).
UPDATE user_passkeys SET credential = $3, last_used_at = now() WHERE user_id = $1 AND credential_id = $2;

-- name: PasskeyDelete :one
DELETE FROM user_passkeys WHERE id = $1 AND user_id = $2 RETURNING name;

-- name: PasskeyDeleteAll :exec
DELETE FROM user_passkeys WHERE user_id = $1;

-- name: TwoFactorStatus :one
-- Whether the account has a second factor: a confirmed TOTP or a passkey of
-- this RP ID (one registered for another BASE_URL cannot be used here).
SELECT EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = $1 AND t.confirmed_at IS NOT NULL) AS totp,
       (SELECT count(*) FROM user_passkeys p WHERE p.user_id = $1 AND p.rp_id = sqlc.arg(rp_id)) AS passkeys,
       (SELECT count(*) FROM user_recovery_codes r WHERE r.user_id = $1 AND r.used_at IS NULL) AS recovery_left;

-- name: CommunitySetRequireTwoFactor :one
UPDATE communities SET require_two_factor = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: CommunityRequiringTwoFactorOfUser :one
-- Whether some community that requires two-factor of its owners and admins
-- has the user as one (global admins act as owners everywhere).
SELECT EXISTS (
    SELECT 1 FROM communities c
    WHERE c.require_two_factor
      AND (sqlc.arg(is_admin)::boolean
           OR EXISTS (SELECT 1 FROM community_members m
                      WHERE m.community_id = c.id AND m.user_id = sqlc.arg(user_id) AND m.role IN ('owner', 'admin')))
);
