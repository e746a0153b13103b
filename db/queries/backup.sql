-- name: ServerVersionNum :one
-- The server's version as a number (150004 for 15.4), for checking pg_dump against it.
SELECT current_setting('server_version_num')::int AS version_num;

-- name: DatabaseRelationCount :one
-- Tables, views and sequences outside PostgreSQL's own schemas: 0 in a new
-- database, the only kind a restore goes into.
SELECT count(*) AS relations
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%';

-- name: SealedSecretSample :many
-- A few values of each kind sealed with TOKEN_ENCRYPTION_KEY, in base64, so a
-- restore can check that the configured key opens them.
(SELECT 'platform token'::text AS kind, access_sealed AS sealed FROM platform_tokens LIMIT 3)
UNION ALL
(SELECT 'module secret'::text, encode(secret_sealed, 'base64') FROM community_modules WHERE secret_sealed IS NOT NULL LIMIT 3)
UNION ALL
(SELECT 'module secret key'::text, encode(secret_key_sealed, 'base64') FROM community_modules WHERE secret_key_sealed IS NOT NULL LIMIT 3)
UNION ALL
(SELECT 'two-factor secret'::text, encode(secret_sealed, 'base64') FROM user_totp LIMIT 3)
UNION ALL
(SELECT 'workflow webhook secret'::text, encode(secret_sealed, 'base64') FROM workflow_webhooks LIMIT 3)
UNION ALL
(SELECT 'marketplace signing secret'::text, encode(signing_secret_sealed, 'base64') FROM marketplace_modules WHERE signing_secret_sealed IS NOT NULL LIMIT 3)
UNION ALL
(SELECT 'marketplace credentials'::text, encode(credentials_sealed, 'base64') FROM marketplace_versions WHERE credentials_sealed IS NOT NULL LIMIT 3)
UNION ALL
(SELECT 'installed module secrets'::text, encode(secrets_sealed, 'base64') FROM marketplace_installs WHERE secrets_sealed IS NOT NULL LIMIT 3);
