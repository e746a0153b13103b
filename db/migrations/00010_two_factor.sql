-- +goose Up
-- Two-factor sign-in: an authenticator app (TOTP) per account, passkeys
-- (WebAuthn credentials), single-use recovery codes, and a community setting
-- that requires a second factor of its owners and admins.

-- The account's TOTP secret, sealed with TOKEN_ENCRYPTION_KEY. A row without
-- confirmed_at is an enrolment waiting for its first valid code; last_step is
-- the last time step (unix time / 30 s) whose code was accepted, so a code is
-- never accepted twice.
CREATE TABLE user_totp (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Recovery codes: a salted SHA-256 of each code, never the code.
CREATE TABLE user_recovery_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    salt       bytea NOT NULL CHECK (length(salt) = 16),
    code_hash  bytea NOT NULL CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX user_recovery_codes_user_idx ON user_recovery_codes (user_id) WHERE used_at IS NULL;

-- The WebAuthn user handle: random, one per account, never the account id.
CREATE TABLE user_webauthn (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  bytea NOT NULL UNIQUE CHECK (length(handle) BETWEEN 16 AND 64)
);

-- A passkey: the credential record as go-webauthn encodes it (public key, sign
-- count, flags, transports), found by its credential id within the RP ID.
CREATE TABLE user_passkeys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rp_id         text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    credential_id bytea NOT NULL,
    credential    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    UNIQUE (rp_id, credential_id)
);
CREATE INDEX user_passkeys_user_idx ON user_passkeys (user_id, rp_id);

ALTER TABLE communities ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE communities DROP COLUMN require_two_factor;
DROP TABLE user_passkeys;
DROP TABLE user_webauthn;
DROP TABLE user_recovery_codes;
DROP TABLE user_totp;
