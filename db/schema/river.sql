-- River's job table as far as our queries read it, for sqlc only: River
-- creates and migrates the real table itself (rivermigrate, db/migrate.go).
CREATE TABLE river_job (
    id bigint PRIMARY KEY,
    queue text NOT NULL,
    state text NOT NULL
);
