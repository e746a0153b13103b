-- +goose Up
-- Each event is processed once. An instance claims an event id by writing its
-- row with no answer yet and its own id in claimed_by; the transaction of the
-- event's effects stores the answer. While an instance runs it holds the
-- session advisory lock of its id, so a claim whose instance died (its lock
-- gone) can be taken over by a retry.
ALTER TABLE processed_events
    ALTER COLUMN result DROP NOT NULL,
    ADD COLUMN claimed_by bigint NOT NULL DEFAULT 0;

-- Whether the instance owner is running: it holds the session advisory lock
-- of its id (pg_advisory_lock(owner), which pg_locks shows in two halves).
-- +goose StatementBegin
CREATE FUNCTION waddle_instance_alive(owner bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT owner > 0 AND EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
          AND l.classid = (owner >> 32)::oid AND l.objid = (owner & 4294967295)::oid)
$$;
-- +goose StatementEnd

-- A points balance stays within ±(2^53 − 1), the integers JavaScript (the
-- overlays, API clients) reads exactly. The router refuses a change that
-- would leave this range; the constraint is the last guard. NOT VALID: a
-- balance already out of range (wrapped by an overflow before this check)
-- stays readable, and the router refuses every change to it.
ALTER TABLE points_balances ADD CONSTRAINT points_balances_balance_range
    CHECK (balance BETWEEN -9007199254740991 AND 9007199254740991) NOT VALID;

-- +goose Down
ALTER TABLE points_balances DROP CONSTRAINT points_balances_balance_range;
DROP FUNCTION waddle_instance_alive(bigint);
DELETE FROM processed_events WHERE result IS NULL;
ALTER TABLE processed_events
    DROP COLUMN claimed_by,
    ALTER COLUMN result SET NOT NULL;
