-- An expand step done wrong: a NOT NULL column without a default. The
-- previous release's queries still prepare, but its inserts, which do not
-- know the column, fail.
ALTER TABLE communities ADD COLUMN region text NOT NULL;
