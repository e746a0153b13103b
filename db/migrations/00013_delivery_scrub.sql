-- +goose Up
-- Webhook deliveries keep nothing usable once processed (see platform/scrub.go).
-- Rows stored by earlier versions are scrubbed the same way: Slack's legacy
-- verification token goes from every row; a processed Slack delivery also
-- loses its response_url (which posts into the channel for 30 minutes),
-- response_urls and trigger_id. A delivery not yet processed keeps those: its
-- job still answers through them. The (platform, message_id) key that
-- recognises a redelivery is untouched.
UPDATE platform_deliveries
SET payload = payload - 'token'
WHERE platform = 'slack' AND jsonb_typeof(payload) = 'object' AND payload ? 'token';

UPDATE platform_deliveries
SET payload = payload - ARRAY['response_url', 'response_urls', 'trigger_id']
WHERE platform = 'slack' AND processed_at IS NOT NULL AND jsonb_typeof(payload) = 'object'
  AND payload ?| ARRAY['response_url', 'response_urls', 'trigger_id'];

-- +goose Down
-- What was scrubbed is gone; nothing to restore.
SELECT 1;
