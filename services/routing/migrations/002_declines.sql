-- An agency declines its assignment as not within its authority ("bukan wewenang"): the assignment
-- stops being active and keeps why, when and by whom. declined_key is the decline's idempotency key.
ALTER TABLE routing.assignments
    ADD COLUMN declined_key    text,
    ADD COLUMN declined_reason text CHECK (char_length(declined_reason) BETWEEN 10 AND 2000),
    ADD COLUMN declined_at     timestamptz,
    ADD COLUMN declined_by     text,
    ADD CONSTRAINT assignments_decline_whole CHECK (
        (declined_at IS NULL) = (declined_reason IS NULL) AND (declined_at IS NULL) = (declined_by IS NULL)
        AND (declined_at IS NULL) = (declined_key IS NULL)),
    ADD CONSTRAINT assignments_declined_inactive CHECK (declined_at IS NULL OR NOT active);

-- A repeated decline finds its first answer by (report, key).
CREATE UNIQUE INDEX assignments_by_decline_key ON routing.assignments (tracking_id, declined_key)
    WHERE declined_key IS NOT NULL;
