-- +goose Up
-- Who may read, change and run each workflow, beyond the defaults (members
-- read; admins and owners change and run), and each community's licence key.

-- A grant to a community role ('admin', 'moderator', 'member') or to one user
-- (subject: the user's id); grants only add to the defaults.
CREATE TABLE workflow_permissions (
    workflow_id  bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    subject_kind text NOT NULL CHECK (subject_kind IN ('role', 'user')),
    subject      text NOT NULL CHECK (
        (subject_kind = 'role' AND subject IN ('admin', 'moderator', 'member'))
        OR (subject_kind = 'user' AND subject ~ '^[1-9][0-9]{0,18}$')),
    can_read     boolean NOT NULL DEFAULT false,
    can_write    boolean NOT NULL DEFAULT false,
    can_execute  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (workflow_id, subject_kind, subject)
);
CREATE INDEX workflow_permissions_community_idx ON workflow_permissions (community_id, workflow_id);

-- A community's licence key (the signed token as issued; it names the
-- community or the whole installation). An installation-wide key may also
-- come from WADDLE_LICENSE_KEY.
CREATE TABLE workflow_licences (
    community_id bigint PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 4096),
    added_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    added_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE workflow_licences;
DROP TABLE workflow_permissions;
