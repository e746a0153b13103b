-- +goose Up
-- A trigger or action key belongs to one community (community_id) and works
-- while its creator is an owner or admin there; only global admins hold
-- installation-wide trigger and action keys (community_id NULL) and core and
-- admin keys. Keys made before this rule that hold more than their owner may
-- do are revoked here, with the reason their owner sees on the account page.
ALTER TABLE api_keys
    ADD COLUMN community_id bigint REFERENCES communities (id) ON DELETE CASCADE,
    ADD COLUMN revoked_reason text NOT NULL DEFAULT '' CHECK (length(revoked_reason) <= 300),
    ADD CONSTRAINT api_keys_community_role CHECK (community_id IS NULL OR role IN ('trigger', 'action'));
CREATE INDEX api_keys_community_idx ON api_keys (community_id, created_at DESC) WHERE community_id IS NOT NULL;

WITH revoked AS (
    UPDATE api_keys k
    SET revoked_at = now(),
        revoked_reason = CASE WHEN k.role IN ('trigger', 'action')
            THEN 'installation-wide ' || k.role || ' keys are for global admins; create one on your community''s page'
            ELSE k.role || ' keys are for global admins' END
    FROM users u
    WHERE u.id = k.user_id AND k.revoked_at IS NULL AND NOT u.is_admin AND k.role <> 'user'
    RETURNING k.user_id, k.name, k.role, k.prefix, k.revoked_reason
)
INSERT INTO audit_log (actor_id, actor_email, action, target)
SELECT NULL, 'upgrade', 'api_key_revoked', name || ' (' || role || ', ' || prefix || '…) of user ' || user_id || ': ' || revoked_reason
FROM revoked;

-- +goose Down
-- Without community_id a community key would reach every community: revoke them first.
UPDATE api_keys SET revoked_at = now() WHERE community_id IS NOT NULL AND revoked_at IS NULL;
ALTER TABLE api_keys DROP COLUMN revoked_reason, DROP COLUMN community_id;
