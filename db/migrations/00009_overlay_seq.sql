-- +goose Up
-- Each source numbers its updates 1, 2, 3, … in the order they commit. The
-- number is taken from the source row under its row lock by the statement
-- that stores the update, so number n+1 commits only after n: a page that
-- receives n+1 knows that every earlier number can be read from the table,
-- whatever order the instances' publishes reach it in. Existing updates keep
-- their id as their number, and each source counts on from its highest, so
-- the Last-Event-ID of a page connected before this migration stays valid.
ALTER TABLE overlay_sources ADD COLUMN seq bigint NOT NULL DEFAULT 0 CHECK (seq >= 0);
ALTER TABLE overlay_updates ADD COLUMN seq bigint;
UPDATE overlay_updates SET seq = id;
UPDATE overlay_sources s SET seq = u.seq
FROM (SELECT source_id, max(seq) AS seq FROM overlay_updates GROUP BY source_id) u
WHERE u.source_id = s.id;
ALTER TABLE overlay_updates ALTER COLUMN seq SET NOT NULL;
DROP INDEX overlay_updates_source_idx;
ALTER TABLE overlay_updates ADD CONSTRAINT overlay_updates_source_seq_key UNIQUE (source_id, seq);

-- +goose Down
ALTER TABLE overlay_updates DROP CONSTRAINT overlay_updates_source_seq_key;
CREATE INDEX overlay_updates_source_idx ON overlay_updates (source_id, id);
ALTER TABLE overlay_updates DROP COLUMN seq;
ALTER TABLE overlay_sources DROP COLUMN seq;
