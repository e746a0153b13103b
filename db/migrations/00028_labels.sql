-- +goose Up
-- Labels: a name, a colour and a description. A community's own labels are
-- put on people there (at most 5 per person); hub-wide labels (no community)
-- are put on communities (at most 5 per community), e.g. "English",
-- "Speedrunning". A label may be mapped to a platform role (an entity
-- group): giving or taking the label gives or takes the role.

CREATE TABLE labels (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL: a hub-wide label, for communities.
    community_id bigint REFERENCES communities (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 40 AND name !~ '\s{2}' AND name = btrim(name)),
    colour       text NOT NULL DEFAULT '#6b7280' CHECK (colour ~ '^#[0-9a-f]{6}$'),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 300),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, community_id)
);
CREATE UNIQUE INDEX labels_name_idx ON labels (coalesce(community_id, 0), lower(name));

-- A label on a person in a community. The label must be the community's own
-- (the composite reference enforces it in SQL).
CREATE TABLE person_labels (
    community_id bigint NOT NULL,
    identity_id  bigint NOT NULL,
    label_id     bigint NOT NULL,
    added_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, identity_id, label_id),
    FOREIGN KEY (label_id, community_id) REFERENCES labels (id, community_id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, identity_id) REFERENCES community_people (community_id, identity_id) ON DELETE CASCADE
);
CREATE INDEX person_labels_label_idx ON person_labels (community_id, label_id, identity_id);

-- A hub-wide label on a community, for the marketplace and the directory.
CREATE TABLE community_labels (
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    label_id     bigint NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, label_id)
);

-- An entity group: the platform role a label gives. At most one per platform
-- server for a label.
CREATE TABLE label_groups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL,
    label_id     bigint NOT NULL,
    platform     text NOT NULL CHECK (platform IN ('twitch', 'discord', 'slack')),
    -- The linked server: a Twitch channel login, a Discord guild id, a Slack team id.
    server       text NOT NULL CHECK (length(server) BETWEEN 1 AND 100),
    -- A Discord role id, a Slack user group id, or 'vip' on Twitch.
    group_id     text NOT NULL CHECK (length(group_id) BETWEEN 1 AND 100),
    group_name   text NOT NULL DEFAULT '' CHECK (length(group_name) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (label_id, community_id) REFERENCES labels (id, community_id) ON DELETE CASCADE,
    UNIQUE (label_id, platform, server)
);

-- What the bots were asked to do for one account of one labelled person:
-- give (want) or take (NOT want) the group's role, and how it went.
CREATE TABLE label_assignments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    group_id     bigint NOT NULL REFERENCES label_groups (id) ON DELETE CASCADE,
    identity_id  bigint NOT NULL,
    account_id   text NOT NULL CHECK (length(account_id) BETWEEN 1 AND 100),
    want         boolean NOT NULL,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'differs')),
    -- The platform's reason for a failure, or what a re-sync found different.
    detail       text NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    attempts     integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, account_id)
);
CREATE INDEX label_assignments_identity_idx ON label_assignments (community_id, identity_id);

-- +goose Down
DROP TABLE label_assignments;
DROP TABLE label_groups;
DROP TABLE community_labels;
DROP TABLE person_labels;
DROP TABLE labels;
