-- +goose Up
-- No usable secret at rest.
--
-- A reset or invitation link is no longer made when it is asked for and
-- carried in the mail job's arguments: the job names the row, and the token
-- is minted (its hash stored here) when the mail is sent. Until then the row
-- has no token, and no link opens it.
ALTER TABLE password_resets ALTER COLUMN token_hash DROP NOT NULL;
ALTER TABLE community_invitations ALTER COLUMN token_hash DROP NOT NULL;

-- Keys the installation makes for itself, shared by every instance. The
-- "pseudonym" key keys the HMAC that names people (email and client
-- addresses) in Redis keys, so Redis never holds an address in the clear. It
-- opens nothing: whoever can read it here can read the users table too.
CREATE TABLE server_keys (
    name       text PRIMARY KEY,
    key        bytea NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Mail jobs queued by earlier versions carry the whole message, links
-- included; completed ones would keep it for a day, failed ones for a week.
-- They are dropped (a pending one is lost: its reset can be asked for again,
-- its invitation sent again). River's table exists only once River has
-- migrated, which it does after Waddle on a fresh database.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('river_job') IS NOT NULL THEN
        DELETE FROM river_job WHERE kind = 'mail.send' AND args ? 'message';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE server_keys;
DELETE FROM community_invitations WHERE token_hash IS NULL;
DELETE FROM password_resets WHERE token_hash IS NULL;
ALTER TABLE community_invitations ALTER COLUMN token_hash SET NOT NULL;
ALTER TABLE password_resets ALTER COLUMN token_hash SET NOT NULL;
