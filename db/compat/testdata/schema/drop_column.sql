-- A contract step taken a release too early: the previous release still
-- reads and writes commands.response, so its queries must stop preparing.
ALTER TABLE commands DROP COLUMN response;
