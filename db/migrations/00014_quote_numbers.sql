-- +goose Up
-- A community's last quote number, taken with a row lock: two `!quote add`
-- at once get different numbers, where max(number) + 1 gave both the same one
-- and failed the second. A number, once given, is not given again.
CREATE TABLE quote_counters (
    community_id bigint PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    last_number  integer NOT NULL CHECK (last_number >= 0)
);

INSERT INTO quote_counters (community_id, last_number)
SELECT community_id, max(number) FROM quotes GROUP BY community_id;

-- +goose Down
DROP TABLE quote_counters;
