-- +goose Up
-- Expanding is always allowed: new tables, nullable columns, columns with a
-- default, indexes, looser constraints. A comment may say DROP COLUMN freely.
CREATE TABLE sayings (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    text         text NOT NULL
);
ALTER TABLE commands ADD COLUMN reply text;
ALTER TABLE communities ADD COLUMN region text NOT NULL DEFAULT 'eu',
    ADD CONSTRAINT communities_region_check CHECK (region IN ('eu', 'us')) NOT VALID;
ALTER TABLE commands ALTER COLUMN response DROP NOT NULL;
ALTER TABLE commands DROP CONSTRAINT IF EXISTS commands_permission_check;
CREATE INDEX sayings_community_idx ON sayings (community_id);
DROP INDEX IF EXISTS commands_workflow_idx;
INSERT INTO audit_log (action, detail) VALUES ('note', 'we will DROP TABLE quotes; RENAME later');
UPDATE commands SET reply = response WHERE reply IS NULL;

-- +goose Down
DROP TABLE sayings;
ALTER TABLE commands DROP COLUMN reply;
ALTER TABLE communities DROP COLUMN region;
